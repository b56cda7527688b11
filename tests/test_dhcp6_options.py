"""Tests for apidhcpd.dhcp6.options, values and names: the DHCPv6 catalogue and its value
types."""

import socket

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from apidhcpd.dhcp6 import names, values
from apidhcpd.dhcp6.names import ClientFQDN
from apidhcpd.dhcp6.options import (
    BY_NAME,
    OPTIONS,
    DUIDType,
    MessageType,
    OptionCode,
    StatusCode,
    by_name,
    decode_option,
    encode_option,
    lookup,
)
from apidhcpd.dhcp6.values import OptionError, Status

labels = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)
domains = st.lists(labels, min_size=1, max_size=4).map(".".join)
# as inet_ntop writes them (::ffff:192.0.2.1, where ipaddress writes ::ffff:c000:201)
addresses = st.binary(min_size=16, max_size=16).map(
    lambda b: socket.inet_ntop(socket.AF_INET6, b))


class TypeTestMixin:
    """Helpers: pairs that must round trip, inputs that must be refused."""

    def assertPairs(self, kind, pairs):
        for value, raw in pairs:
            self.assertEqual(kind.encode(value), raw, value)
            self.assertEqual(kind.decode(raw), value, raw)

    def assertBadValues(self, kind, bad):
        for value in bad:
            self.assertRaises(OptionError, kind.encode, value)

    def assertBadRaw(self, kind, raws):
        for raw in raws:
            self.assertRaises(OptionError, kind.decode, raw)


class CatalogueTests(SynchronousTestCase):

    def test_numbers(self):
        self.assertEqual([int(t) for t in MessageType][:13], list(range(1, 14)))
        self.assertEqual(MessageType.INFORMATION_REQUEST, 11)
        self.assertEqual((StatusCode.Success, StatusCode.NoPrefixAvail), (0, 6))
        self.assertEqual([int(t) for t in DUIDType], [1, 2, 3, 4])
        self.assertEqual((OptionCode.IA_PD, OptionCode.IAPREFIX, OptionCode.NTP_SERVER,
                          OptionCode.CLIENT_LINKLAYER_ADDR, OptionCode.RELAY_SOURCE_PORT,
                          OptionCode.SOL_MAX_RT, OptionCode.INF_MAX_RT),
                         (25, 26, 56, 79, 135, 82, 83))

    def test_every_code_is_catalogued_once_by_a_unique_name(self):
        self.assertEqual(sorted(OPTIONS), sorted(int(c) for c in OptionCode))
        self.assertEqual(len(BY_NAME), len(OPTIONS))
        for option in OPTIONS.values():
            self.assertIs(by_name(option.name), option)

    def test_codes_print_as_numbers(self):
        self.assertEqual(str(OptionCode.DNS_SERVERS), "23")
        self.assertEqual("%s" % MessageType.SOLICIT, "1")

    def test_by_name_and_lookup(self):
        self.assertEqual(by_name("dns-servers").code, 23)
        self.assertEqual(lookup("domain-search").code, 24)
        self.assertIs(lookup("23"), OPTIONS[23])
        unknown = lookup("65000")
        self.assertEqual((unknown.code, unknown.type), (65000, values.Bytes))
        for bad in ("no-such-option", "0", "65536", "", None, "\u0663"):
            self.assertRaises(OptionError, lookup, bad)

    def test_inventory_text(self):
        """What an `option6-<name>` field holds, encoded."""
        cases = [
            ("dns-servers", "2001:db8::53, 2001:db8::35",
             bytes.fromhex("20010db8000000000000000000000053"
                           "20010db8000000000000000000000035")),
            ("domain-search", "example.com, corp.example.com.",
             b"\x07example\x03com\x00\x04corp\x07example\x03com\x00"),
            ("ntp-server", "2001:db8::123 ntp.example.com",
             bytes.fromhex("0001" "0010" "20010db8000000000000000000000123"
                           "0003" "0011") + b"\x03ntp\x07example\x03com\x00"),
            ("information-refresh-time", "86400", bytes.fromhex("00015180")),
            ("sol-max-rt", "3600", bytes.fromhex("00000e10")),
            ("inf-max-rt", "0x100", bytes.fromhex("00000100")),
            ("bootfile-url", "http://[2001:db8::1]/boot.efi", b"http://[2001:db8::1]/boot.efi"),
            ("bootfile-param", "console=ttyS0, quiet",
             b"\x00\x0dconsole=ttyS0\x00\x05quiet"),
            ("rapid-commit", "", b""),
            ("preference", "255", b"\xff"),
            ("posix-timezone", "CET-1CEST", b"CET-1CEST"),
            ("aftr-name", "aftr.example.com", b"\x04aftr\x07example\x03com\x00"),
            ("sntp-servers", "2001:db8::7", bytes.fromhex("20010db8000000000000000000000007")),
            ("65000", "0a:0b", b"\x0a\x0b"),
            ("vendor-opts", "00000009 0001 0002 abcd", bytes.fromhex("0000000900010002abcd")),
        ]
        for key, text, raw in cases:
            self.assertEqual(lookup(key).encode_text(text), raw, key)

    def test_inventory_text_errors(self):
        cases = [
            ("dns-servers", "192.0.2.53"), ("dns-servers", ""),
            ("domain-search", "bad..name"), ("domain-search", "caf\u00e9.example"),
            ("information-refresh-time", "-1"), ("information-refresh-time", "4294967296"),
            ("information-refresh-time", "soon"), ("preference", "256"),
            ("rapid-commit", "no"), ("65000", "xyz"), ("vendor-opts", "0000"),
            ("vendor-opts", "00000009 0001 0005 ab"), ("bootfile-url", ""),
        ]
        for key, text in cases:
            self.assertRaises(OptionError, lookup(key).encode_text, text)
        self.assertRaises(OptionError, lookup("dns-servers").encode_text, None)

    def test_encode_and_decode_option(self):
        self.assertEqual(encode_option(23, ["2001:db8::53"]),
                         bytes.fromhex("20010db8000000000000000000000053"))
        self.assertEqual(decode_option(6, b"\x00\x17\x00\x18"), [23, 24])
        self.assertEqual(decode_option(64000, b"\x01"), b"\x01")
        self.assertRaises(OptionError, encode_option, 0, b"")
        self.assertRaises(OptionError, encode_option, 65536, b"")
        self.assertRaises(OptionError, encode_option, "23", ["2001:db8::53"])


class ValueTypeTests(TypeTestMixin, SynchronousTestCase):

    def test_addresses(self):
        self.assertPairs(values.Address, [("2001:db8::1", bytes.fromhex(
            "20010db8000000000000000000000001"))])
        self.assertPairs(values.AddressList, [(["::", "2001:db8::1"], bytes(16) + bytes.fromhex(
            "20010db8000000000000000000000001"))])
        self.assertBadValues(values.Address, ["192.0.2.1", "2001:db8::g", None, b"\0" * 16])
        self.assertBadValues(values.AddressList, [[], "2001:db8::1", ["2001:db8::1", 1]])
        self.assertBadRaw(values.Address, [b"", bytes(15), bytes(17)])
        self.assertBadRaw(values.AddressList, [b"", bytes(15), bytes(31)])

    def test_integers(self):
        self.assertPairs(values.U8, [(0, b"\0"), (255, b"\xff")])
        self.assertPairs(values.U16, [(0x1234, b"\x12\x34")])
        self.assertPairs(values.U32, [(0xFFFFFFFF, b"\xff" * 4)])
        self.assertBadValues(values.U32, [-1, 1 << 32, True, "1", 1.0, None])
        self.assertBadRaw(values.U16, [b"", b"\0", b"\0\0\0"])

    def test_flag(self):
        self.assertPairs(values.Flag, [(True, b"")])
        self.assertBadValues(values.Flag, [False, 1, b""])
        self.assertBadRaw(values.Flag, [b"\0"])

    def test_text(self):
        self.assertPairs(values.Text, [("Europe/Oslo", b"Europe/Oslo"),
                                       ("\u00e9t\u00e9", "\u00e9t\u00e9".encode())])
        self.assertBadValues(values.Text, ["", b"x", None])
        self.assertBadRaw(values.Text, [b"", b"\xff"])

    def test_code_list(self):
        self.assertPairs(values.CodeList, [([], b""), ([23, 24, 65535],
                                                       b"\x00\x17\x00\x18\xff\xff")])
        self.assertBadValues(values.CodeList, [[65536], [-1], "23", None, [1.5]])
        self.assertBadRaw(values.CodeList, [b"\0"])

    def test_opaque_list(self):
        self.assertPairs(values.OpaqueList, [([b"", b"ab"], b"\0\0\0\x02ab")])
        self.assertBadValues(values.OpaqueList, [[], [b"\0" * 65536], ["text"]])
        self.assertBadRaw(values.OpaqueList, [b"", b"\0", b"\0\x02a"])

    def test_domain_names(self):
        self.assertPairs(names.DomainList, [
            (["example.com"], b"\x07example\x03com\x00"),
            (["a.example", "b"], b"\x01a\x07example\x00\x01b\x00"),
        ])
        self.assertEqual(names.DomainName.encode("example.com."), b"\x07example\x03com\x00")
        self.assertBadValues(names.DomainList, [[], ["."], ["a..b"], ["x" * 64 + ".com"],
                                                 [".".join(["abc"] * 64)], "example.com"])
        self.assertBadRaw(names.DomainList, [
            b"", b"\x00", b"\x07example\x03com",          # empty, root alone, not terminated
            b"\xc0\x00",                                 # a compression pointer
            b"\x07exam",                                 # a label cut short
            b"\x03a.b\x00", b"\x01\xff\x00",             # not a plain ASCII label
            (b"\x3f" + b"a" * 63) * 5 + b"\x00",         # longer than 255 bytes
        ])
        self.assertBadRaw(names.DomainName, [b"\x01a\x00\x01b\x00"])

    def test_ntp_servers(self):
        raw = (bytes.fromhex("0001" "0010" "20010db8000000000000000000000123"
                             "0002" "0010" "ff050000000000000000000000000101"
                             "0003" "000a") + b"\x04time\x03org\x00")
        self.assertPairs(names.NTPServers, [(["2001:db8::123", "ff05::101", "time.org"], raw)])
        self.assertBadValues(names.NTPServers, [[], ["bad..name"], [1]])
        self.assertBadRaw(names.NTPServers, [
            b"", bytes.fromhex("0004" "0000"), bytes.fromhex("0001" "0004" "00000000"),
            bytes.fromhex("0003" "0002" "0161")])

    def test_status(self):
        self.assertPairs(values.StatusValue, [
            (Status(StatusCode.NoBinding, ""), b"\x00\x03"),
            (Status(0, "ok \u2713"), b"\x00\x00ok \xe2\x9c\x93")])
        self.assertEqual(values.StatusValue.encode((4, "off link")), b"\x00\x04off link")
        self.assertBadValues(values.StatusValue, [4, (65536, ""), (1, b"x"), None])
        self.assertBadRaw(values.StatusValue, [b"", b"\0", b"\0\0\xff"])

    def test_enterprise_vendor_and_link_layer(self):
        self.assertPairs(values.Enterprise, [((4491, b"cm1"), b"\x00\x00\x11\x8bcm1")])
        self.assertPairs(values.VendorClass, [((4491, [b"docsis3.0"]),
                                               b"\x00\x00\x11\x8b\x00\x09docsis3.0")])
        self.assertPairs(values.VendorOptions, [((9, [(1, b"ab")]),
                                                 b"\x00\x00\x00\x09\x00\x01\x00\x02ab")])
        self.assertPairs(values.LinkLayer, [((1, bytes.fromhex("525400a1b2c3")),
                                             bytes.fromhex("0001525400a1b2c3"))])
        self.assertBadRaw(values.Enterprise, [b"\0\0\0\1"])
        self.assertBadRaw(values.VendorClass, [b"\0\0\0", b"\0\0\0\1"])
        self.assertBadRaw(values.VendorOptions, [b"\0\0\0", b"\0\0\0\1\0"])
        self.assertBadRaw(values.LinkLayer, [b"\0\1"])
        self.assertBadValues(values.Enterprise, [(1 << 32, b"x"), (1, "x"), 5])

    def test_client_fqdn(self):
        self.assertPairs(names.FQDN, [
            (ClientFQDN(names.FQDN_S, "host.example.com."),
             b"\x01\x04host\x07example\x03com\x00"),
            (ClientFQDN(0, "host"), b"\x00\x04host"),
            (ClientFQDN(names.FQDN_N, ""), b"\x04"),
        ])
        self.assertBadValues(names.FQDN, [("host",), ClientFQDN(256, "h")])
        self.assertBadRaw(names.FQDN, [b"", b"\x00\x01a\x00\x01b"])

    @given(st.lists(domains, min_size=1, max_size=5))
    def test_domain_list_round_trip(self, value):
        self.assertEqual(names.DomainList.decode(names.DomainList.encode(value)), value)

    @given(st.lists(addresses | domains, min_size=1, max_size=5))
    def test_ntp_round_trip(self, value):
        self.assertEqual(names.NTPServers.decode(names.NTPServers.encode(value)), value)

    @given(st.binary(max_size=60))
    def test_decoders_raise_only_option_error(self, raw):
        for option in OPTIONS.values():
            try:
                option.decode(raw)
            except OptionError:
                pass

    @given(st.text(max_size=30))
    def test_text_forms_raise_only_option_error(self, text):
        for option in OPTIONS.values():
            try:
                option.encode_text(text)
            except OptionError:
                pass
