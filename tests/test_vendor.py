"""Option 125 (RFC 3925, V-I Vendor-Specific Information) from the inventory's `vivso` field:
the bytes against RFC 3925 section 4's layout (written out here by hand, not by the module),
the text form's errors, and the construct definition against the text form both ways."""

import struct

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from apidhcpd.dhcp4 import vendor

CABLELABS, BBF = 4491, 3561  # IANA enterprise numbers: CableLabs, the Broadband Forum


def block(enterprise, *subs):
    """RFC 3925 section 4, one enterprise: enterprise-number (4 octets), data-len (1), then
    option-data: sub-options as code (1), length (1), data."""
    data = b"".join(bytes((code, len(value))) + value for code, value in subs)
    return struct.pack("!IB", enterprise, len(data)) + data


class EncodingTests(SynchronousTestCase):

    def test_one_enterprise_byte_for_byte(self):
        self.assertEqual(vendor.from_text("3561:1=ABC; 3561:2=0x0102"),
                         bytes.fromhex("00000de9" "09" "0103414243" "02020102"))

    def test_several_enterprises_each_in_one_block(self):
        """Each enterprise number appears once (RFC 3925 section 4): its sub-options are
        gathered in the order written; the enterprises in the order they first appear."""
        raw = vendor.from_text("4491:5=x; 3561:1=http://acs.example.test:7547/; "
                               "4491:2=0xc0:00:02:05; 3561:4=0x")
        self.assertEqual(raw, block(CABLELABS, (5, b"x"), (2, bytes([192, 0, 2, 5])))
                         + block(BBF, (1, b"http://acs.example.test:7547/"), (4, b"")))
        self.assertEqual(raw[:5], bytes.fromhex("0000118b" "09"))

    def test_text_keeps_its_inner_spaces_and_signs(self):
        self.assertEqual(vendor.from_text(" 9:1 =  a=b:c d  ;"), block(9, (1, b"a=b:c d")))

    def test_limits(self):
        self.assertEqual(vendor.from_text("4294967295:255=" + "x" * 253),
                         block(0xFFFFFFFF, (255, b"x" * 253)))
        self.assertEqual(vendor.from_text("0:0=0x00"), block(0, (0, b"\x00")))

    def test_long_options_are_the_codecs_business(self):
        """Two blocks of 255 bytes make one option value of 520 bytes: codec.encode splits
        it over several instances of option 125 (RFC 3396, which RFC 3925 points to)."""
        raw = vendor.from_text("1:1=%s; 2:1=%s" % ("a" * 253, "b" * 253))
        self.assertEqual(len(raw), 2 * (5 + 255))

    def test_errors(self):
        for text, message in (
                ("", "no entry (write <enterprise>:<code>=<value>; ...)"),
                (" ; ", "no entry (write <enterprise>:<code>=<value>; ...)"),
                ("3561", "'3561': write <enterprise>:<code>=<value>"),
                ("3561:1", "'3561:1': write <enterprise>:<code>=<value>"),
                ("3561=abc", "'3561=abc': write <enterprise>:<code>=<value>"),
                ("x:1=a", "enterprise number 'x' is not a number 0-4294967295"),
                ("-1:1=a", "enterprise number '-1' is not a number 0-4294967295"),
                ("4294967296:1=a", "enterprise number '4294967296' is not a number 0-4294967295"),
                ("3561:256=a", "sub-option code '256' of enterprise 3561 is not a number 0-255"),
                ("3561:0x1=a", "sub-option code '0x1' of enterprise 3561 is not a number 0-255"),
                ("3561:1=", "sub-option 1 of enterprise 3561 has no value (write 0x for an "
                            "empty one)"),
                ("3561:1=0xabc", "sub-option 1 of enterprise 3561: '0xabc' is not hex"),
                ("3561:1=0xzz", "sub-option 1 of enterprise 3561: '0xzz' is not hex"),
                ("3561:1=" + "x" * 256, "sub-option 1 of enterprise 3561: 256 bytes, at most "
                                        "255"),
                ("3561:1=%s; 3561:2=%s" % ("a" * 200, "b" * 52),
                 "enterprise 3561: 256 bytes of sub-options, at most 255"),
        ):
            with self.assertRaises(ValueError, msg=text) as caught:
                vendor.from_text(text)
            self.assertEqual(str(caught.exception), message, text)


sub_options = st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=40)), max_size=5)
vendors = st.lists(st.tuples(st.integers(0, 2**32 - 1), sub_options), min_size=1, max_size=4,
                   unique_by=lambda item: item[0]).filter(
    lambda found: any(subs for _, subs in found))


class SpecificationTests(SynchronousTestCase):
    """The construct definition (vendor.VIVSO) is the layout; the text form goes through it."""

    @given(vendors)
    def test_text_form_round_trip(self, found):
        found = [(enterprise, subs) for enterprise, subs in found if subs]
        raw = b"".join(block(enterprise, *subs) for enterprise, subs in found)
        self.assertEqual(vendor.parse(raw), found)
        self.assertEqual(vendor.from_text(vendor.text_of(raw)), raw)

    def test_text_of_writes_text_where_it_can(self):
        raw = block(BBF, (1, b"http://acs.example.test/"), (2, b"\x01"), (3, b"0xab"),
                    (4, b"a;b"), (5, b" pad"), (6, b""))
        self.assertEqual(vendor.text_of(raw), "3561:1=http://acs.example.test/; 3561:2=0x01; "
                                              "3561:3=0x30786162; 3561:4=0x613b62; "
                                              "3561:5=0x20706164; 3561:6=0x")

    def test_malformed_values_do_not_parse(self):
        for raw in (b"\x00\x00", block(9, (1, b"ab"))[:-1], block(9, (1, b"ab")) + b"\x00",
                    struct.pack("!IB", 9, 3) + b"\x01\x05ab"):
            self.assertRaises(ValueError, vendor.parse, raw)
            self.assertEqual(vendor.text_of(raw), raw.hex())
