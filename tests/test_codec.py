"""Tests for apidhcpd.codec: the wire format."""

import socket
import struct

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from apidhcpd.dhcp4 import codec
from apidhcpd.dhcp4.codec import CodecError, decode, encode
from apidhcpd.dhcp4.message import Message
from tests import fixtures

addresses = st.binary(min_size=4, max_size=4).map(socket.inet_ntoa)

# Options the round trip can reproduce: not pad/end, not overload (52).
round_trip_options = st.dictionaries(
    st.integers(1, 254).filter(lambda code: code != 52),
    st.binary(min_size=1, max_size=600),
    max_size=12,
)

messages = st.builds(
    Message,
    op=st.integers(0, 255),
    htype=st.integers(0, 255),
    hlen=st.integers(0, 16),
    hops=st.integers(0, 255),
    xid=st.integers(0, 2**32 - 1),
    secs=st.integers(0, 2**16 - 1),
    flags=st.integers(0, 2**16 - 1),
    ciaddr=addresses,
    yiaddr=addresses,
    siaddr=addresses,
    giaddr=addresses,
    chaddr=st.binary(min_size=16, max_size=16),
    sname=st.binary(min_size=64, max_size=64),
    file=st.binary(min_size=128, max_size=128),
    options=round_trip_options,
)

# The fields of a BOOTP header, in the form the construct Header builds.
header_fields = st.fixed_dictionaries({
    "op": st.integers(0, 255), "htype": st.integers(0, 255),
    "hlen": st.integers(0, 16), "hops": st.integers(0, 255),
    "xid": st.integers(0, 2**32 - 1), "secs": st.integers(0, 2**16 - 1),
    "flags": st.integers(0, 2**16 - 1),
    "ciaddr": st.binary(min_size=4, max_size=4),
    "yiaddr": st.binary(min_size=4, max_size=4),
    "siaddr": st.binary(min_size=4, max_size=4),
    "giaddr": st.binary(min_size=4, max_size=4),
    "chaddr": st.binary(min_size=16, max_size=16),
    "sname": st.binary(min_size=64, max_size=64),
    "file": st.binary(min_size=128, max_size=128),
})

# Items of an option area, in the form the construct OptionArea builds.
tlvs = st.one_of(
    st.just({"code": codec.PAD, "data": None}),
    st.builds(lambda code, data: {"code": code, "data": data},
              st.integers(1, 254), st.binary(max_size=255)),
)


def must_decode_or_fail_cleanly(data):
    """decode(data) returns a Message or raises CodecError, nothing else."""
    try:
        result = decode(data)
    except CodecError:
        return None
    assert isinstance(result, Message)
    return result


def wire_options(packet):
    """[(code, length)] of the options field, walked independently of codec."""
    out = []
    i = 240
    while packet[i] != 255:
        if packet[i] == 0:
            i += 1
            continue
        out.append((packet[i], packet[i + 1]))
        i += 2 + packet[i + 1]
    return out


class FixtureDecodeTests(SynchronousTestCase):

    def test_dhclient_discover(self):
        m = decode(fixtures.DHCLIENT_DISCOVER)
        self.assertEqual((m.op, m.htype, m.hlen, m.hops), (1, 1, 6, 0))
        self.assertEqual(m.xid, 0x3903F326)
        self.assertEqual(m.secs, 3)
        self.assertEqual(m.flags, 0)
        self.assertEqual(m.ciaddr, "0.0.0.0")
        self.assertEqual(m.giaddr, "0.0.0.0")
        self.assertEqual(m.chaddr, fixtures.DHCLIENT_MAC + bytes(10))
        self.assertEqual(list(m.options), [53, 50, 12, 55])
        self.assertEqual(m.options[53], b"\x01")
        self.assertEqual(m.options[50], bytes([192, 0, 2, 10]))
        self.assertEqual(m.options[12], b"debian")
        self.assertEqual(list(m.options[55]), fixtures.DHCLIENT_PRL)

    def test_udhcpc_discover(self):
        m = decode(fixtures.UDHCPC_DISCOVER)
        self.assertEqual(m.xid, 0x6B8B4567)
        self.assertEqual(list(m.options), [53, 61, 57, 60, 55])
        self.assertEqual(m.options[61], b"\x01" + fixtures.UDHCPC_MAC)
        self.assertEqual(m.options[57], struct.pack("!H", 576))
        self.assertEqual(m.options[60], b"udhcp 1.36.1")

    def test_request_selecting(self):
        m = decode(fixtures.DHCLIENT_REQUEST)
        self.assertEqual(m.options[53], b"\x03")
        self.assertEqual(m.options[54], bytes([192, 0, 2, 1]))
        self.assertEqual(m.options[50], bytes([192, 0, 2, 10]))
        self.assertEqual(m.ciaddr, "0.0.0.0")

    def test_relayed_discover(self):
        m = decode(fixtures.RELAYED_DISCOVER)
        self.assertEqual(m.hops, 1)
        self.assertEqual(m.giaddr, "198.51.100.1")
        self.assertEqual(m.flags, 0x8000)
        self.assertEqual(m.options[82], fixtures.RELAY_INFO)
        self.assertEqual(list(m.options), [53, 55, 82])

    def test_server_offer(self):
        m = decode(fixtures.LONG_OPTION_OFFER)
        self.assertEqual(m.op, 2)
        self.assertEqual(m.yiaddr, "192.0.2.10")
        self.assertEqual(m.siaddr, "192.0.2.1")

    def test_accepts_bytearray_and_memoryview(self):
        data = fixtures.DHCLIENT_DISCOVER
        self.assertEqual(decode(bytearray(data)), decode(data))
        self.assertEqual(decode(memoryview(data)), decode(data))


class Rfc951Tests(SynchronousTestCase):
    """A BOOTREQUEST whose vendor area is not RFC 1048's (no magic cookie), as RFC 951
    clients send it: a BOOTP request without options (ISC dhcpd reads it so too)."""

    def test_a_vendor_area_of_zeros(self):
        m = decode(fixtures.RFC951_REQUEST)
        self.assertEqual((m.op, m.htype, m.hlen, m.xid, m.secs), (1, 1, 6, 0x00C0FFEE, 2))
        self.assertEqual(m.chaddr, fixtures.RFC951_MAC + bytes(10))
        self.assertEqual(m.mac, "02:00:00:00:00:cc")
        self.assertEqual((m.ciaddr, m.giaddr), ("0.0.0.0", "0.0.0.0"))
        self.assertEqual((m.options, m.message_type, m.bootp), ({}, None, True))

    def test_vendor_specific_data_is_not_read_as_options(self):
        m = decode(fixtures.RFC951_VENDOR_REQUEST)
        self.assertEqual((m.xid, m.options), (0x00C0FFEF, {}))

    def test_any_length_from_the_bare_header_on(self):
        for vend in (b"", b"\x63\x82\x53", bytes(64), bytes(300)):
            m = decode(fixtures.rfc951(7, fixtures.RFC951_MAC, vend=vend))
            self.assertEqual((m.xid, m.options), (7, {}))

    def test_only_requests(self):
        """A BOOTREPLY (or anything else) without the cookie is still no message of ours."""
        for op in (0, 2, 3):
            packet = fixtures.rfc951(7, fixtures.RFC951_MAC, op=op)
            self.assertRaises(CodecError, decode, packet)

    def test_hlen_is_still_checked(self):
        packet = bytearray(fixtures.RFC951_REQUEST)
        packet[2] = 17
        self.assertRaises(CodecError, decode, bytes(packet))


class LongOptionTests(SynchronousTestCase):

    def test_instances_are_concatenated_in_order(self):
        """RFC 3396: the two 119 instances, around a 51, make one value."""
        m = decode(fixtures.LONG_OPTION_OFFER)
        self.assertEqual(m.options[119], fixtures.SEARCH_WIRE)
        self.assertEqual(list(m.options), [53, 54, 119, 51])
        self.assertEqual(m.options[51], struct.pack("!I", 3600))

    def test_long_value_is_split(self):
        value = bytes(range(256)) * 2 + b"x" * 88  # 600 bytes
        m = Message(options={53: b"\x02", 43: value})
        packet = encode(m, max_size=1500)
        self.assertEqual(wire_options(packet),
                         [(53, 1), (43, 255), (43, 255), (43, 90)])
        self.assertEqual(decode(packet).options[43], value)

    def test_exactly_255_is_one_instance(self):
        packet = encode(Message(options={43: b"a" * 255}))
        self.assertEqual(wire_options(packet), [(43, 255)])

    def test_256_is_two_instances(self):
        packet = encode(Message(options={43: b"a" * 256}))
        self.assertEqual(wire_options(packet), [(43, 255), (43, 1)])

    def test_empty_value(self):
        packet = encode(Message(options={80: b""}))
        self.assertEqual(wire_options(packet), [(80, 0)])
        self.assertEqual(decode(packet).options, {80: b""})


class OverloadTests(SynchronousTestCase):

    def test_file_holds_options(self):
        m = decode(fixtures.OVERLOAD_DISCOVER)
        self.assertEqual(list(m.options), [53, 52, 12, 61])
        self.assertEqual(m.options[12], b"abcdef")
        self.assertEqual(m.options[61], b"\x01" + fixtures.OVERLOAD_MAC)
        self.assertEqual(m.options[52], b"\x01")
        # The file field held options, not a name; sname is left alone.
        self.assertEqual(m.file, bytes(128))
        self.assertEqual(m.sname, b"boot.example.net".ljust(64, b"\x00"))

    def test_sname_holds_options(self):
        packet = fixtures.bootp(
            1, 1, b"\x02" * 6,
            options=bytes.fromhex("350101" "340102" "ff"),
            sname=bytes.fromhex("0c02" "6869" "ff"),   # 12 "hi"
            file=b"pxelinux.0")
        m = decode(packet)
        self.assertEqual(m.options[12], b"hi")
        self.assertEqual(m.sname, bytes(64))
        self.assertEqual(m.file, b"pxelinux.0".ljust(128, b"\x00"))

    def test_both_fields_order_options_file_sname(self):
        packet = fixtures.bootp(
            1, 1, b"\x02" * 6,
            options=bytes.fromhex("0c0161" "340103" "ff"),  # 12 "a"
            file=bytes.fromhex("0c0162"),                  # 12 "b", no end
            sname=bytes.fromhex("0c0163" "ff"))            # 12 "c"
        self.assertEqual(decode(packet).options[12], b"abc")

    def test_bad_overload_value(self):
        for value in ("00", "04", "0101"):
            packet = fixtures.bootp(1, 1, b"\x02" * 6, options=bytes.fromhex(
                "34%02x%s" % (len(value) // 2, value) + "ff"))
            self.assertRaises(CodecError, decode, packet)

    def test_option_cut_off_in_file(self):
        packet = fixtures.bootp(
            1, 1, b"\x02" * 6, options=bytes.fromhex("340101" "ff"),
            file=b"\x00" * 126 + b"\x0c\x05")  # 12, length 5, field ends
        self.assertRaises(CodecError, decode, packet)


class MalformedTests(SynchronousTestCase):

    def test_empty(self):
        self.assertRaises(CodecError, decode, b"")

    def test_shorter_than_the_bootp_header(self):
        self.assertRaises(CodecError, decode, fixtures.DHCLIENT_DISCOVER[:235])
        self.assertRaises(CodecError, decode, fixtures.RFC951_REQUEST[:235])

    def test_header_without_options(self):
        m = decode(fixtures.DHCLIENT_DISCOVER[:240])
        self.assertEqual(m.options, {})

    def test_bad_cookie_in_a_reply(self):
        packet = bytearray(fixtures.LONG_OPTION_OFFER)
        packet[239] ^= 1
        self.assertRaises(CodecError, decode, bytes(packet))

    def test_a_dhcp_message_needs_the_cookie(self):
        """Without the cookie nothing in the vendor area is an option, 53 included: a
        DISCOVER whose cookie is damaged reads as an RFC 951 request, not as a DISCOVER."""
        packet = bytearray(fixtures.DHCLIENT_DISCOVER)
        packet[239] ^= 1
        m = decode(bytes(packet))
        self.assertEqual((m.options, m.message_type, m.bootp), ({}, None, True))

    def test_hlen_over_16(self):
        packet = bytearray(fixtures.DHCLIENT_DISCOVER)
        packet[2] = 16
        decode(bytes(packet))
        packet[2] = 17
        self.assertRaises(CodecError, decode, bytes(packet))

    def test_option_runs_past_the_end(self):
        packet = fixtures.bootp(1, 1, b"\x02" * 6, pad_to=0,
                                options=bytes.fromhex("350101" "0c05" "6162"))
        self.assertRaises(CodecError, decode, packet)

    def test_option_one_byte_short(self):
        packet = fixtures.bootp(1, 1, b"\x02" * 6, pad_to=0,
                                options=bytes.fromhex("350101" "0c03" "6162"))
        self.assertRaises(CodecError, decode, packet)

    def test_option_without_length_byte(self):
        packet = fixtures.bootp(1, 1, b"\x02" * 6, pad_to=0,
                                options=bytes.fromhex("350101" "0c"))
        self.assertRaises(CodecError, decode, packet)

    def test_missing_end_tolerated_at_a_boundary(self):
        packet = fixtures.bootp(1, 1, b"\x02" * 6, pad_to=0,
                                options=bytes.fromhex("350101" "0c026869"))
        self.assertEqual(decode(packet).options, {53: b"\x01", 12: b"hi"})

    def test_bytes_after_end_are_ignored(self):
        packet = fixtures.DHCLIENT_DISCOVER + b"\x0c\xff garbage"
        self.assertEqual(decode(packet), decode(fixtures.DHCLIENT_DISCOVER))

    def test_not_bytes(self):
        self.assertRaises(CodecError, decode, None)
        self.assertRaises(CodecError, decode, 42)

    def test_every_truncation_of_the_fixtures(self):
        for packet in fixtures.ALL.values():
            for n in range(len(packet)):
                must_decode_or_fail_cleanly(packet[:n])

    @given(st.binary(max_size=700))
    def test_random_bytes(self, data):
        must_decode_or_fail_cleanly(data)

    @given(st.binary(min_size=236, max_size=236), st.binary(max_size=400))
    def test_random_bytes_after_a_cookie(self, header, tail):
        must_decode_or_fail_cleanly(header + fixtures.COOKIE + tail)

    @given(st.sampled_from(sorted(fixtures.ALL)), st.data())
    def test_corrupted_fixtures(self, name, data):
        packet = bytearray(fixtures.ALL[name])
        for _ in range(data.draw(st.integers(1, 8))):
            i = data.draw(st.integers(0, len(packet) - 1))
            packet[i] = data.draw(st.integers(0, 255))
        cut = data.draw(st.integers(0, len(packet)))
        must_decode_or_fail_cleanly(bytes(packet[:cut]))


class EncodeTests(SynchronousTestCase):

    @settings(max_examples=200)
    @given(messages)
    def test_round_trip(self, m):
        self.assertEqual(decode(encode(m, max_size=65535)), m)

    def test_fixtures_round_trip(self):
        for name in ("dhclient discover", "udhcpc discover", "dhclient request",
                     "relayed discover", "long option offer"):
            m = decode(fixtures.ALL[name])
            self.assertEqual(decode(encode(m, max_size=1500)), m)

    def test_dhclient_discover_bytes(self):
        """Re-encoding a well-formed 300-byte packet gives it back exactly."""
        m = decode(fixtures.DHCLIENT_DISCOVER)
        self.assertEqual(encode(m), fixtures.DHCLIENT_DISCOVER)

    def test_small_reply_is_padded_to_300(self):
        packet = encode(Message(op=2, options={53: b"\x02"}))
        self.assertEqual(len(packet), 300)
        self.assertEqual(packet[240:244], b"\x35\x01\x02\xff")
        self.assertEqual(packet[244:], bytes(56))

    def test_no_options(self):
        packet = encode(Message())
        self.assertEqual(len(packet), 300)
        self.assertEqual(packet[236:241], fixtures.COOKIE + b"\xff")

    def test_big_reply_is_not_padded(self):
        packet = encode(Message(options={43: b"a" * 200}))
        self.assertEqual(len(packet), 240 + 202 + 1)

    def test_header_fields(self):
        m = Message(op=2, hops=3, xid=0xDEADBEEF, secs=7, flags=0x8000,
                    ciaddr="192.0.2.5", yiaddr="192.0.2.6", siaddr="192.0.2.7",
                    giaddr="198.51.100.1", chaddr=b"\x01\x02\x03\x04\x05\x06",
                    sname=b"server", file=b"boot.efi")
        expected = fixtures.bootp(
            2, 0xDEADBEEF, b"\x01\x02\x03\x04\x05\x06", options=b"\xff",
            hops=3, secs=7, flags=0x8000, ciaddr="192.0.2.5",
            yiaddr="192.0.2.6", siaddr="192.0.2.7", giaddr="198.51.100.1",
            sname=b"server", file=b"boot.efi")
        self.assertEqual(encode(m), expected)

    def test_relay_agent_information_goes_last(self):
        m = Message(options={82: b"\x01\x01x", 53: b"\x02", 54: b"\xc0\x00\x02\x01"})
        m.options[51] = b"\x00\x00\x0e\x10"
        packet = encode(m)
        self.assertEqual([code for code, _ in wire_options(packet)],
                         [53, 54, 51, 82])

    def test_too_big_drops_from_the_end_but_keeps_53_54_82(self):
        m = Message(options={53: b"\x02"})
        for code in range(100, 110):
            m.options[code] = bytes(60)
        m.options[54] = b"\xc0\x00\x02\x01"
        m.options[82] = bytes(20)
        packet = encode(m)
        self.assertLessEqual(len(packet), 576 - 28)
        # 240 + 53 (3) + 54 (6) + 82 (22) + end (1) leaves room for 4 x 62.
        self.assertEqual([code for code, _ in wire_options(packet)],
                         [53, 100, 101, 102, 103, 54, 82])

    def test_max_size_is_clamped_to_576(self):
        m = Message(options={53: b"\x02", 43: bytes(400)})
        self.assertEqual(encode(m, max_size=300), encode(m, max_size=576))
        self.assertEqual(encode(m, max_size=None), encode(m, max_size=576))
        self.assertNotIn(43, decode(encode(m, max_size=576)).options)

    def test_larger_max_size_keeps_everything(self):
        m = Message(options={53: b"\x02", 43: bytes(400)})
        packet = encode(m, max_size=1500)
        self.assertEqual(decode(packet).options, m.options)
        self.assertEqual(len(packet), 240 + 3 + (2 + 255) + (2 + 145) + 1)

    def test_max_size_boundary(self):
        # Exactly 548 bytes of DHCP message fit in 576 of IP datagram.
        m = Message(options={43: bytes(255), 60: bytes(548 - 240 - 257 - 2 - 1)})
        self.assertEqual(len(encode(m)), 548)
        m.options[60] += b"x"
        self.assertEqual(list(decode(encode(m)).options), [43])

    def test_protected_options_alone_still_returned_when_too_big(self):
        m = Message(options={53: b"\x02", 54: bytes(4), 43: bytes(100),
                             82: bytes(600)})
        packet = encode(m)
        self.assertGreater(len(packet), 548)
        self.assertEqual(list(decode(packet).options), [53, 54, 82])

    def test_short_fields_are_padded(self):
        m = Message()
        m.chaddr = b"\x01\x02"
        self.assertEqual(decode(encode(m)).chaddr, b"\x01\x02" + bytes(14))

    def test_unencodable_messages(self):
        bad = [
            Message(options={0: b"x"}),
            Message(options={255: b"x"}),
            Message(options={256: b"x"}),
            Message(options={"53": b"x"}),
            Message(options={12: "text"}),
            Message(ciaddr="192.0.2"),
            Message(giaddr=None),
            Message(xid=2**32),
        ]
        long_chaddr = Message()
        long_chaddr.chaddr = bytes(17)
        bad.append(long_chaddr)
        for m in bad:
            self.assertRaises(CodecError, encode, m)


class SpecificationTests(SynchronousTestCase):
    """The hot-path code agrees with the construct definitions."""

    @given(header_fields)
    def test_header_matches_construct(self, fields):
        built = codec.Header.build(dict(fields, cookie=None)) + b"\xff"
        m = decode(built)
        for name in ("ciaddr", "yiaddr", "siaddr", "giaddr"):
            self.assertEqual(getattr(m, name), socket.inet_ntoa(fields[name]))
        for name in ("op", "htype", "hlen", "hops", "xid", "secs", "flags",
                     "chaddr", "sname", "file"):
            self.assertEqual(getattr(m, name), fields[name])
        packet = encode(m)
        self.assertEqual(packet[:241], built)
        parsed = codec.Header.compile().parse(packet)
        self.assertEqual(parsed.chaddr, fields["chaddr"])
        self.assertEqual(parsed.xid, fields["xid"])

    @given(header_fields, st.sampled_from([1, 1, 1, 2, 0]),
           st.one_of(st.binary(max_size=80), st.binary(min_size=64, max_size=64),
                     st.builds(lambda tail: fixtures.COOKIE + tail, st.binary(max_size=20))))
    def test_the_vendor_area_matches_construct(self, fields, op, vend):
        """decode reads the vendor area as the construct definitions do: RFC 1048's (Header,
        the cookie, then options), else an RFC 951 request's (Rfc951Request: a BOOTREQUEST,
        any vendor bytes, no options), else nothing."""
        from construct import ConstructError
        packet = codec.BootpHeader.build(dict(fields, op=op)) + vend
        try:
            codec.Header.parse(packet)
            rfc1048 = True
        except ConstructError:
            rfc1048 = False
        try:
            parsed = codec.Rfc951Request.parse(packet)
        except ConstructError:
            parsed = None
        self.assertFalse(rfc1048 and parsed is not None)
        m = must_decode_or_fail_cleanly(packet)
        if parsed is not None:
            self.assertIsNotNone(m)
            self.assertEqual(m.options, {})
            self.assertEqual((m.op, m.xid, m.chaddr, m.sname, m.file),
                             (parsed.header.op, parsed.header.xid, parsed.header.chaddr,
                              parsed.header.sname, parsed.header.file))
            self.assertEqual(m.giaddr, socket.inet_ntoa(parsed.header.giaddr))
        elif not rfc1048:
            self.assertIsNone(m)

    @given(st.lists(tlvs, max_size=25), st.binary(max_size=20))
    def test_option_loop_matches_construct(self, items, trailing):
        area = codec.OptionArea.build(items + [{"code": codec.END, "data": None}])
        area += trailing
        expected = {}
        for item in codec.OptionArea.parse(area):
            if item.code not in (codec.PAD, codec.END):
                expected[item.code] = expected.get(item.code, b"") + item.data
        got = {}
        codec.scan_options(area, 0, len(area), got)
        self.assertEqual(list(got.items()), list(expected.items()))

    def test_option_area_rejects_missing_end(self):
        """The construct definition is strict; the loop is lenient (tested above)."""
        from construct import ConstructError
        area = bytes.fromhex("350101")
        self.assertRaises(ConstructError, codec.OptionArea.parse, area)
        got = {}
        codec.scan_options(area, 0, len(area), got)
        self.assertEqual(got, {53: b"\x01"})
