"""Tests for apidhcpd.options: the option catalogue and value types."""

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from apidhcpd.dhcp4 import options
from apidhcpd.dhcp4.options import (
    FQDN_E,
    FQDN_N,
    FQDN_O,
    FQDN_S,
    OPTIONS,
    ClientFQDN,
    OptionError,
    by_name,
    decode_option,
    encode_option,
)
from tests import fixtures


class TypeTestMixin:
    """Helpers: pairs that must round trip, inputs that must be refused."""

    def assertPairs(self, type_, pairs):
        for value, raw in pairs:
            self.assertEqual(type_.encode(value), raw, value)
            self.assertEqual(type_.decode(raw), value, raw)

    def assertBadValues(self, type_, values):
        for value in values:
            self.assertRaises(OptionError, type_.encode, value)

    def assertBadRaw(self, type_, raws):
        for raw in raws:
            self.assertRaises(OptionError, type_.decode, raw)


class AddressTests(TypeTestMixin, SynchronousTestCase):

    def test_ip(self):
        self.assertPairs(options.IP, [
            ("192.0.2.1", b"\xc0\x00\x02\x01"),
            ("0.0.0.0", b"\x00\x00\x00\x00"),
            ("255.255.255.255", b"\xff\xff\xff\xff"),
        ])

    def test_ip_errors(self):
        self.assertBadValues(options.IP, [
            "192.0.2", "192.0.2.256", "192.0.02.1", " 192.0.2.1", "2001:db8::1",
            "", "192.0.2.1\x00", None, 3221225985, b"\xc0\x00\x02\x01"])
        self.assertBadRaw(options.IP, [b"", b"\x01\x02\x03", b"\x01" * 5])

    def test_ip_list(self):
        self.assertPairs(options.IPList, [
            (["192.0.2.53"], b"\xc0\x00\x02\x35"),
            (["192.0.2.53", "198.51.100.53"], b"\xc0\x00\x02\x35\xc6\x33\x64\x35"),
        ])

    def test_ip_list_errors(self):
        self.assertBadValues(options.IPList, [
            [], "192.0.2.1", ["192.0.2.1", "bad"], None])
        self.assertBadRaw(options.IPList, [b"", b"\x01\x02\x03", b"\x01" * 7])


class IntegerTests(TypeTestMixin, SynchronousTestCase):

    def test_unsigned(self):
        self.assertPairs(options.U8, [(0, b"\x00"), (255, b"\xff")])
        self.assertPairs(options.U16, [(576, b"\x02\x40"), (65535, b"\xff\xff")])
        self.assertPairs(options.U32, [(3600, b"\x00\x00\x0e\x10"),
                                       (2**32 - 1, b"\xff\xff\xff\xff")])

    def test_signed(self):
        self.assertPairs(options.S32, [(-3600, b"\xff\xff\xf1\xf0"),
                                       (3600, b"\x00\x00\x0e\x10"),
                                       (-2**31, b"\x80\x00\x00\x00")])

    def test_out_of_range(self):
        self.assertBadValues(options.U8, [-1, 256, "1", 1.0, True, None])
        self.assertBadValues(options.U16, [-1, 65536])
        self.assertBadValues(options.U32, [-1, 2**32])
        self.assertBadValues(options.S32, [2**31, -2**31 - 1])

    def test_wrong_length(self):
        self.assertBadRaw(options.U8, [b"", b"\x00\x00"])
        self.assertBadRaw(options.U16, [b"\x00", b"\x00\x00\x00"])
        self.assertBadRaw(options.U32, [b"\x00\x00\x00", b"\x00" * 8])
        self.assertBadRaw(options.S32, [b"\x00\x00\x00"])

    def test_bool(self):
        self.assertPairs(options.Bool, [(True, b"\x01"), (False, b"\x00")])
        self.assertBadValues(options.Bool, [1, 0, None])
        self.assertBadRaw(options.Bool, [b"", b"\x02", b"\x01\x01"])


class BytesAndTextTests(TypeTestMixin, SynchronousTestCase):

    def test_text(self):
        self.assertPairs(options.Text, [("debian", b"debian"),
                                        ("caf\u00e9", b"caf\xc3\xa9")])

    def test_text_trailing_nuls_are_deleted(self):
        """RFC 2132 section 2: the receiver MUST delete trailing NULs."""
        self.assertEqual(options.Text.decode(b"host\x00\x00"), "host")

    def test_text_bad_utf8_is_replaced(self):
        self.assertEqual(options.Text.decode(b"a\xffb"), "a\ufffdb")

    def test_text_errors(self):
        self.assertBadValues(options.Text, ["", b"bytes", None])
        self.assertBadRaw(options.Text, [b""])

    def test_bytes(self):
        self.assertPairs(options.Bytes, [(b"", b""), (b"\x00PXEClient", b"\x00PXEClient")])
        self.assertEqual(options.Bytes.encode(bytearray(b"ab")), b"ab")
        self.assertBadValues(options.Bytes, ["text", None, 5])

    def test_byte_list(self):
        self.assertPairs(options.ByteList, [([1, 3, 6, 15], b"\x01\x03\x06\x0f"),
                                            ([], b"")])
        self.assertBadValues(options.ByteList, [[256], [-1], ["a"], 5, "abc"])

    def test_client_id(self):
        raw = b"\x01\x02\x00\xc0\xff\xee\x01"
        self.assertPairs(options.ClientID, [(raw, raw), (b"\x00x", b"\x00x")])
        self.assertBadValues(options.ClientID, [b"", b"\x01", "0102"])
        self.assertBadRaw(options.ClientID, [b"", b"\x01"])


class DomainListTests(TypeTestMixin, SynchronousTestCase):

    # RFC 3397 section 3 example: "eng.apple.com." and "marketing.apple.com."
    RFC3397 = (b"\x03eng\x05apple\x03com\x00"
               b"\x09marketing\xc0\x04")

    def test_rfc3397_example(self):
        self.assertEqual(len(self.RFC3397), 27)
        self.assertPairs(options.DomainList, [
            (["eng.apple.com", "marketing.apple.com"], self.RFC3397)])

    def test_trailing_dot_accepted(self):
        self.assertEqual(options.DomainList.encode(["eng.apple.com."]),
                         b"\x03eng\x05apple\x03com\x00")

    def test_uncompressed_input(self):
        raw = fixtures.labels("a.example") + fixtures.labels("b.example")
        self.assertEqual(options.DomainList.decode(raw), ["a.example", "b.example"])

    def test_whole_name_pointer(self):
        raw = fixtures.labels("example.org") + b"\xc0\x00"
        self.assertEqual(options.DomainList.decode(raw), ["example.org"] * 2)
        self.assertEqual(options.DomainList.encode(["example.org"] * 2), raw)

    def test_chained_pointers(self):
        raw = (b"\x03com\x00"          # 0: com
               b"\x07example\xc0\x00"  # 5: example.com
               b"\x03www\xc0\x05")     # 15: www.example.com
        self.assertEqual(options.DomainList.decode(raw),
                         ["com", "example.com", "www.example.com"])

    def test_fixture_search_list_split_over_two_instances(self):
        self.assertEqual(options.DomainList.decode(fixtures.SEARCH_WIRE),
                         fixtures.SEARCH_NAMES)

    def test_encode_compresses(self):
        raw = options.DomainList.encode(fixtures.SEARCH_NAMES)
        self.assertLess(len(raw), len(fixtures.SEARCH_WIRE) // 2)
        self.assertEqual(options.DomainList.decode(raw), fixtures.SEARCH_NAMES)

    def test_pointer_loops(self):
        self.assertBadRaw(options.DomainList, [
            b"\xc0\x00",                    # points at itself
            b"\x03abc\xc0\x00",             # label, then back to the label
            b"\xc0\x02\xc0\x00",            # two pointers pointing at each other
        ])

    def test_malformed(self):
        self.assertBadRaw(options.DomainList, [
            b"\x03ab",                      # label runs past the end
            b"\x03abc",                     # no terminating root label
            b"\x03abc\xc0",                 # truncated pointer
            b"\x03abc\xc0\x20",             # pointer past the end
            b"\x40abc\x00",                 # extended label type
            b"\x80abc\x00",                 # reserved label type
            (b"\x3f" + b"a" * 63) * 4 + b"\x00",  # name longer than 255
        ])

    def test_encode_errors(self):
        self.assertBadValues(options.DomainList, [
            [], "example.com", ["a..b"], ["a" * 64 + ".com"],
            [".".join(["a" * 63] * 4)], ["caf\u00e9.example"], [None]])

    @given(st.lists(st.lists(st.sampled_from(["a", "b", "corp", "example", "org"]),
                             min_size=1, max_size=5).map(".".join),
                    min_size=1, max_size=10))
    def test_round_trip(self, names):
        self.assertEqual(options.DomainList.decode(options.DomainList.encode(names)),
                         names)


class ClasslessRoutesTests(TypeTestMixin, SynchronousTestCase):

    ROUTER = b"\xc0\x00\x02\x01"

    def test_rfc3442_examples(self):
        """The destination descriptors of RFC 3442 section 3."""
        examples = [
            ("0.0.0.0/0", bytes([0])),
            ("10.0.0.0/8", bytes([8, 10])),
            ("10.0.0.0/24", bytes([24, 10, 0, 0])),
            ("10.17.0.0/16", bytes([16, 10, 17])),
            ("10.27.129.0/24", bytes([24, 10, 27, 129])),
            ("10.229.0.128/25", bytes([25, 10, 229, 0, 128])),
            ("10.198.122.47/32", bytes([32, 10, 198, 122, 47])),
        ]
        for network, descriptor in examples:
            self.assertPairs(options.ClasslessRoutes, [
                ([(network, "192.0.2.1")], descriptor + self.ROUTER)])

    def test_several_routes(self):
        routes = [("198.51.100.0/24", "192.0.2.254"), ("0.0.0.0/0", "192.0.2.1")]
        raw = bytes([24, 198, 51, 100, 192, 0, 2, 254, 0, 192, 0, 2, 1])
        self.assertPairs(options.ClasslessRoutes, [(routes, raw)])

    def test_host_bits_refused(self):
        self.assertBadValues(options.ClasslessRoutes, [
            [("10.0.0.1/8", "192.0.2.1")], [("192.0.2.1/0", "192.0.2.1")]])

    def test_encode_errors(self):
        self.assertBadValues(options.ClasslessRoutes, [
            [("10.0.0.0/33", "192.0.2.1")], [("10.0.0.0/8", "bad")],
            [("10.0.0.0/8",)], ["10.0.0.0/8"], "10.0.0.0/8", None])

    def test_decode_errors(self):
        self.assertBadRaw(options.ClasslessRoutes, [
            bytes([33, 1, 2, 3, 4, 5]) + self.ROUTER,  # width > 32
            bytes([24, 10, 0, 0]) + self.ROUTER[:3],   # truncated router
            bytes([16, 10]),                           # truncated subnet
        ])


class ClientFQDNTests(TypeTestMixin, SynchronousTestCase):

    def test_flags(self):
        self.assertEqual((FQDN_S, FQDN_O, FQDN_E, FQDN_N), (1, 2, 4, 8))

    def test_canonical_fully_qualified(self):
        self.assertPairs(options.FQDN, [
            (ClientFQDN(FQDN_S | FQDN_E, 0, 0, "host.example.com."),
             b"\x05\x00\x00\x04host\x07example\x03com\x00")])

    def test_canonical_partial(self):
        self.assertPairs(options.FQDN, [
            (ClientFQDN(FQDN_E, 0, 0, "host"), b"\x04\x00\x00\x04host"),
            (ClientFQDN(FQDN_E, 0, 0, ""), b"\x04\x00\x00")])

    def test_ascii(self):
        self.assertPairs(options.FQDN, [
            (ClientFQDN(FQDN_N, 255, 255, "host.example.com"),
             b"\x08\xff\xffhost.example.com")])

    def test_server_reply_flags(self):
        """A server overriding S sets S|O|E, RCODEs 255 (RFC 4702 3.3)."""
        value = ClientFQDN(FQDN_S | FQDN_O | FQDN_E, 255, 255, "h.example.")
        raw = options.FQDN.encode(value)
        self.assertEqual(raw[:3], b"\x07\xff\xff")
        self.assertEqual(options.FQDN.decode(raw), value)

    def test_encode_accepts_a_tuple(self):
        self.assertEqual(options.FQDN.encode((FQDN_E, 0, 0, "a.")),
                         b"\x04\x00\x00\x01a\x00")

    def test_decode_errors(self):
        self.assertBadRaw(options.FQDN, [
            b"", b"\x04\x00",
            b"\x04\x00\x00\x04host\x00extra",  # data after the root label
            b"\x04\x00\x00\x04ho",             # label past the end
            b"\x04\x00\x00\x01a\xc0\x03",      # no compression in option 81
        ])

    def test_encode_errors(self):
        self.assertBadValues(options.FQDN, [
            ClientFQDN(256, 0, 0, "a"), ClientFQDN(FQDN_E, 0, 0, "a..b"),
            ClientFQDN(0, 0, 0, "caf\u00e9"), ClientFQDN(FQDN_E, 0, 0, None),
            (1, 2, 3), None])


class RelayAgentInfoTests(TypeTestMixin, SynchronousTestCase):

    def test_fixture(self):
        self.assertEqual(options.RelayAgentInfo.decode(fixtures.RELAY_INFO), [
            (1, b"eth0:100"), (2, b"\x00\x00\x5e\x00\x53\x01")])

    def test_round_trip(self):
        self.assertPairs(options.RelayAgentInfo, [
            ([(1, b"port1"), (5, b"\xc6\x33\x64\x01")],
             b"\x01\x05port1\x05\x04\xc6\x33\x64\x01"),
            ([(9, b"")], b"\x09\x00"),
        ])

    def test_truncated(self):
        self.assertBadRaw(options.RelayAgentInfo, [
            b"\x01", b"\x01\x05port", b"\x01\x01a\x02"])

    def test_encode_errors(self):
        self.assertBadValues(options.RelayAgentInfo, [
            [(256, b"x")], [(1, b"x" * 256)], [(1, "text")], [(1,)], b"\x01\x00", None])


class CatalogueTests(SynchronousTestCase):

    def test_required_options(self):
        expected = {
            1: ("subnet-mask", options.IP), 2: ("time-offset", options.S32),
            3: ("router", options.IPList), 6: ("domain-name-server", options.IPList),
            12: ("host-name", options.Text), 15: ("domain-name", options.Text),
            26: ("interface-mtu", options.U16), 28: ("broadcast-address", options.IP),
            46: ("netbios-node-type", options.U8), 50: ("requested-address", options.IP),
            51: ("lease-time", options.U32), 52: ("overload", options.U8),
            53: ("message-type", options.U8), 54: ("server-identifier", options.IP),
            55: ("parameter-request-list", options.ByteList),
            57: ("max-message-size", options.U16), 58: ("renewal-time", options.U32),
            59: ("rebinding-time", options.U32), 61: ("client-identifier", options.ClientID),
            81: ("client-fqdn", options.FQDN),
            82: ("relay-agent-information", options.RelayAgentInfo),
            108: ("ipv6-only-preferred", options.U32),
            118: ("subnet-selection", options.IP),
            119: ("domain-search", options.DomainList),
            121: ("classless-static-route", options.ClasslessRoutes),
            249: ("ms-classless-static-route", options.ClasslessRoutes),
            252: ("wpad", options.Text),
        }
        for code, (name, type_) in expected.items():
            option = OPTIONS[code]
            self.assertEqual((option.code, option.name, option.type), (code, name, type_))
        for code in (4, 7, 17, 33, 40, 41, 42, 43, 44, 56, 60, 66, 67, 77, 80,
                     93, 97, 114, 116):
            self.assertIn(code, OPTIONS)

    def test_names_are_unique(self):
        names = [o.name for o in OPTIONS.values()]
        self.assertEqual(len(names), len(set(names)))

    def test_by_name(self):
        self.assertEqual(by_name("router").code, 3)
        self.assertEqual(by_name("domain-search").type, options.DomainList)
        self.assertRaises(OptionError, by_name, "no-such-option")
        self.assertRaises(OptionError, by_name, None)

    def test_encode_decode_option(self):
        self.assertEqual(encode_option(3, ["192.0.2.1"]), b"\xc0\x00\x02\x01")
        self.assertEqual(decode_option(51, b"\x00\x00\x0e\x10"), 3600)
        self.assertRaises(OptionError, encode_option, 51, -1)
        self.assertRaises(OptionError, decode_option, 54, b"\x01")

    def test_unknown_codes_are_bytes(self):
        self.assertNotIn(224, OPTIONS)
        self.assertEqual(encode_option(224, b"\x01\x02"), b"\x01\x02")
        self.assertEqual(decode_option(224, b"\x01\x02"), b"\x01\x02")
        self.assertRaises(OptionError, encode_option, 224, "text")

    def test_pad_and_end_are_not_options(self):
        for code in (0, 255, 256, -1, "3"):
            self.assertRaises(OptionError, encode_option, code, b"")
            self.assertRaises(OptionError, decode_option, code, b"")

    def test_message_types(self):
        self.assertEqual(
            [options.DISCOVER, options.OFFER, options.REQUEST, options.DECLINE,
             options.ACK, options.NAK, options.RELEASE, options.INFORM],
            list(range(1, 9)))
        self.assertEqual(options.MESSAGE_TYPE_NAMES[options.ACK], "ACK")
        self.assertEqual(sorted(options.MESSAGE_TYPE_NAMES), list(range(1, 9)))


class VocabularyTests(SynchronousTestCase):
    """The codes by name (OptionCode, MessageType) and the old module-level names."""

    def test_every_catalogue_option_has_a_name_in_OptionCode(self):
        for code, option in options.OPTIONS.items():
            self.assertIs(type(option.code), options.OptionCode, option.name)
            self.assertEqual(options.OptionCode(code), code)

    def test_the_old_names_are_the_message_types(self):
        self.assertEqual([options.DISCOVER, options.OFFER, options.REQUEST, options.DECLINE,
                          options.ACK, options.NAK, options.RELEASE, options.INFORM],
                         list(range(1, 9)))
        self.assertEqual(options.MESSAGE_TYPE_NAMES[5], "ACK")
        self.assertEqual(sorted(options.MESSAGE_TYPE_NAMES.values()), sorted(
            ["DISCOVER", "OFFER", "REQUEST", "DECLINE", "ACK", "NAK", "RELEASE", "INFORM"]))

    def test_a_code_prints_as_its_number_on_every_python(self):
        self.assertEqual(("%s %d %s" % (options.OptionCode.ROUTER, options.ACK, options.ACK)),
                         "3 5 5")
        self.assertEqual(str(options.MessageType.NAK), "6")
