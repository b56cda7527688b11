"""Network boot through DHCPServer on the memory store: the boot fields in the header (siaddr,
file, sname) and their options 66/67 under overload, option 60 back to PXE and UEFI HTTP boot
clients, the named PXE options (43), option 125 (raw, and named: `vivso`), BOOTP (RFC
951/1497) for reserved hosts only, and the validation that refuses bad boot values."""

from apidhcpd.admin import metrics
from apidhcpd.dhcp4 import codec
from apidhcpd.dhcp4 import options as opt
from apidhcpd.dhcp4.boot import read_boot
from apidhcpd.dhcp4.message import Message
from tests import fixtures
from tests.test_protocol import WireTestCase
from tests.test_server import KNOWN, OTHER, SERVER, ServerTestCase, request
from tests.test_validation import A, StoreTestCase

PXE_CLASS = b"PXEClient:Arch:00000:UNDI:002001"
HTTP_CLASS = b"HTTPClient:Arch:00016:UNDI:003001"
BOOT_PRL = [1, 3, 6, 43, 60, 66, 67]
URL = "http://192.0.2.5/boot/ipxe.efi"


def text(field):
    return field.rstrip(b"\x00")


def bootp(mac=KNOWN, ciaddr="0.0.0.0", flags=0x8000, options=None):
    """A BOOTREQUEST without option 53: the magic cookie, RFC 1497 options at most."""
    return Message(op=1, xid=0x4242, flags=flags, ciaddr=ciaddr,
                   chaddr=bytes.fromhex(mac.replace(":", "")), options=dict(options or {}))


class BootTestCase(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.store.hset("group:default", **{"next-server": "192.0.2.5",
                                            "boot-file": "pxelinux.0",
                                            "server-name": "tftp.example.test"})


class HeaderTests(BootTestCase):
    def test_offer_and_ack_carry_next_server_file_and_sname(self):
        offer = self.ask(request(opt.DISCOVER, KNOWN))
        ack = self.ask(request(opt.REQUEST, KNOWN, o50="192.0.2.10", o54=SERVER))
        for reply in (offer, ack):
            self.assertEqual(reply.siaddr, "192.0.2.5")
            self.assertEqual(text(reply.file), b"pxelinux.0")
            self.assertEqual(text(reply.sname), b"tftp.example.test")
            self.assertNotIn(66, reply.options)
            self.assertNotIn(67, reply.options)
        self.assertEqual(ack.message_type, opt.ACK)

    def test_host_over_group_and_dynamic_clients_get_the_pool_groups(self):
        self.store.hset("mac:" + KNOWN, **{"boot-file": URL, "next-server": "192.0.2.6"})
        self.store.hset("group:pool", **{"boot-file": "undionly.kpxe"})
        offer = self.ask(request(opt.DISCOVER, KNOWN))
        self.assertEqual((offer.siaddr, text(offer.file)), ("192.0.2.6", URL.encode()))
        self.assertEqual(text(offer.sname), b"tftp.example.test")
        offer = self.ask(request(opt.DISCOVER, OTHER))
        self.assertEqual((offer.siaddr, text(offer.file)), ("192.0.2.5", b"undionly.kpxe"))

    def test_a_nak_has_none(self):
        nak = self.ask(request(opt.REQUEST, KNOWN, o50="192.0.2.11"))
        self.assertEqual(nak.message_type, opt.NAK)
        self.assertEqual((nak.siaddr, nak.file, nak.sname), ("0.0.0.0", bytes(128), bytes(64)))

    def test_without_boot_fields_the_header_stays_empty(self):
        self.store.data["group:default"] = {"gateway": "192.0.2.1", "prefix": "24"}
        offer = self.ask(request(opt.DISCOVER, KNOWN))
        self.assertEqual((offer.siaddr, offer.file, offer.sname),
                         ("0.0.0.0", bytes(128), bytes(64)))

    def test_overload_sends_them_as_options_66_and_67(self):
        self.store.hset("group:default", **{"option-overload": "3"})
        offer = self.ask(request(opt.DISCOVER, KNOWN, prl=BOOT_PRL + [52]))
        self.assertEqual(offer.options[52], b"\x03")
        self.assertEqual((offer.file, offer.sname), (bytes(128), bytes(64)))
        self.assertEqual(offer.options[67], b"pxelinux.0")
        self.assertEqual(offer.options[66], b"tftp.example.test")
        self.assertEqual(offer.siaddr, "192.0.2.5")
        # only `file` taken: sname stays in the header; 67 as the inventory gives it wins
        self.store.hset("group:default", **{"option-overload": "1", "bootfile": "other.0"})
        offer = self.ask(request(opt.DISCOVER, KNOWN, prl=BOOT_PRL + [52]))
        self.assertEqual((offer.options[67], offer.file), (b"other.0", bytes(128)))
        self.assertNotIn(66, offer.options)
        self.assertEqual(text(offer.sname), b"tftp.example.test")
        # the client did not ask for 52: the fields are free
        offer = self.ask(request(opt.DISCOVER, KNOWN, prl=BOOT_PRL))
        self.assertEqual(text(offer.file), b"pxelinux.0")

    def test_bad_values_are_skipped_with_a_warning(self):
        self.store.hset("group:default", **{"next-server": "192.0.2", "boot-file": "x" * 128,
                                            "server-name": "s" * 63})
        offer = self.ask(request(opt.DISCOVER, KNOWN))
        self.assertEqual((offer.siaddr, offer.file), ("0.0.0.0", bytes(128)))
        self.assertEqual(text(offer.sname), b"s" * 63)
        self.assertEqual(len(self.warnings), 2, self.warnings)
        self.assertIn("next-server '192.0.2' is not an IPv4 address", self.warnings[0])
        self.assertIn("boot-file: 128 bytes, at most 127", self.warnings[1])


class VendorClassTests(BootTestCase):
    def test_pxe_and_http_boot_clients_get_their_class_back(self):
        for sent, answer in ((PXE_CLASS, b"PXEClient"), (HTTP_CLASS, b"HTTPClient")):
            offer = self.ask(request(opt.DISCOVER, KNOWN, prl=BOOT_PRL, o60=sent))
            self.assertEqual(offer.options.get(60), answer)
            self.assertEqual(offer.options[60], answer)

    def test_a_pxe_client_answered_without_option_43_is_told_to_boot_the_offers_file(self):
        # PXE 2.1: without option 43 a PXE client may take the offer for a proxyDHCP/BINL one
        # and ask port 4011 (OVMF does: PXE-E16); discovery control bit 3 (8) says "boot the
        # file named here". An HTTP boot client gets no option 43.
        offer = self.ask(request(opt.DISCOVER, KNOWN, prl=BOOT_PRL, o60=PXE_CLASS))
        self.assertEqual(offer.options[43], bytes.fromhex("060108ff"))
        offer = self.ask(request(opt.DISCOVER, KNOWN, prl=BOOT_PRL, o60=HTTP_CLASS))
        self.assertNotIn(43, offer.options)
        self.store.hset("mac:" + KNOWN, **{"option-43": "0601030a0400"})  # the inventory's wins
        offer = self.ask(request(opt.DISCOVER, KNOWN, prl=BOOT_PRL, o60=PXE_CLASS))
        self.assertEqual(offer.options[43], bytes.fromhex("0601030a0400"))

    def test_http_boot_gets_its_url(self):
        self.store.hset("mac:" + KNOWN, **{"boot-file": URL})
        offer = self.ask(request(opt.DISCOVER, KNOWN, prl=BOOT_PRL, o60=HTTP_CLASS))
        self.assertEqual((text(offer.file), offer.options[60]), (URL.encode(), b"HTTPClient"))

    def test_no_echo_without_boot_information_or_for_other_classes(self):
        offer = self.ask(request(opt.DISCOVER, KNOWN, prl=BOOT_PRL, o60=b"MSFT 5.0"))
        self.assertNotIn(60, offer.options)
        self.store.data["group:default"] = {"gateway": "192.0.2.1", "prefix": "24",
                                            "next-server": "192.0.2.5"}
        for sent in (PXE_CLASS, HTTP_CLASS):
            offer = self.ask(request(opt.DISCOVER, KNOWN, prl=BOOT_PRL, o60=sent))
            self.assertNotIn(60, offer.options)
        # option 67 alone is boot information
        self.store.hset("group:default", bootfile="ipxe.efi")
        offer = self.ask(request(opt.DISCOVER, KNOWN, prl=BOOT_PRL, o60=PXE_CLASS))
        self.assertEqual(offer.options[60], b"PXEClient")

    def test_ipxe_gets_no_pxe_echo_nor_default_43(self):
        # iPXE says PXEClient too, but takes an offer that echoes it for a ProxyDHCP one and
        # asks port 4011 four times (12-15 s) before it boots (seen in the QEMU UEFI tests)
        for user_class in (b"iPXE", b"\x04iPXE"):
            msg = request(opt.DISCOVER, KNOWN, prl=BOOT_PRL, o60=PXE_CLASS)
            msg.set_raw(77, user_class)
            offer = self.ask(msg)
            self.assertEqual(text(offer.file), b"pxelinux.0")
            self.assertNotIn(60, offer.options)
            self.assertNotIn(43, offer.options)

    def test_a_nak_gets_no_echo(self):
        nak = self.ask(request(opt.REQUEST, KNOWN, o50="192.0.2.11", o60=PXE_CLASS))
        self.assertNotIn(60, nak.options)


class PxeOptionTests(BootTestCase):
    FIELDS = {"pxe-discovery-control": "7",
              "pxe-boot-servers": "32768 192.0.2.5,192.0.2.6; 1 192.0.2.7",
              "pxe-boot-menu": "32768 Install; 0 Local",
              "pxe-menu-prompt": "5 Press F8",
              "pxe-boot-item": "32768 0"}
    ENCODED = bytes.fromhex(
        "0601" "07"
        "0812" "8000" "02" "c0000205" "c0000206" "0001" "01" "c0000207"
        "0912" "8000" "07" + b"Install".hex() + "0000" "05" + b"Local".hex() +
        "0a09" "05" + b"Press F8".hex() +
        "4704" "8000" "0000"
        "ff")

    def test_option_43_for_a_pxe_client_byte_for_byte(self):
        self.store.hset("group:default", **self.FIELDS)
        offer = self.ask(request(opt.DISCOVER, KNOWN, prl=BOOT_PRL, o60=PXE_CLASS))
        self.assertEqual(offer.options[43], self.ENCODED)
        self.assertEqual(offer.options[60], b"PXEClient")
        self.assertEqual(self.warnings, [])

    def test_only_pxe_clients_get_it(self):
        self.store.hset("group:default", **self.FIELDS)
        for sent in (None, HTTP_CLASS, b"MSFT 5.0"):
            extra = {} if sent is None else {"o60": sent}
            offer = self.ask(request(opt.DISCOVER, KNOWN, prl=BOOT_PRL, **extra))
            self.assertNotIn(43, offer.options, sent)

    def test_pxe_options_alone_are_boot_information(self):
        self.store.data["group:default"] = {"gateway": "192.0.2.1", "prefix": "24",
                                            "pxe-discovery-control": "8"}
        offer = self.ask(request(opt.DISCOVER, KNOWN, prl=BOOT_PRL, o60=PXE_CLASS))
        self.assertEqual((offer.options[43], offer.options[60]), (b"\x06\x01\x08\xff",
                                                                  b"PXEClient"))

    def test_raw_option_43_wins(self):
        self.store.hset("group:default", **dict(self.FIELDS, **{"option-43": "0102aabb"}))
        for sent in (PXE_CLASS, b"MSFT 5.0"):
            offer = self.ask(request(opt.DISCOVER, KNOWN, prl=BOOT_PRL, o60=sent))
            self.assertEqual(offer.options[43], bytes.fromhex("0102aabb"))

    def test_bad_sub_options_are_skipped_with_a_warning(self):
        warnings = []
        boot = read_boot({"pxe-discovery-control": "300", "pxe-boot-servers": "1 192.0.2",
                          "pxe-boot-menu": "x Menu", "pxe-boot-item": "1 2"}, warnings.append)
        self.assertEqual(boot.pxe, bytes.fromhex("470400010002ff"))
        self.assertEqual([w.split(":")[0] for w in warnings],
                         ["pxe-discovery-control", "pxe-boot-servers", "pxe-boot-menu"])

    def test_option_125_as_raw_hex(self):
        value = "00000de9" "08" "0106" + b"vendor".hex()
        self.store.hset("group:default", **{"option-125": value})
        offer = self.ask(request(opt.DISCOVER, KNOWN, prl=BOOT_PRL + [125]))
        self.assertEqual(offer.options[125], bytes.fromhex(value))
        self.assertEqual(self.warnings, [])


class VivsoTests(BootTestCase):
    """Option 125 (RFC 3925) from the named field `vivso`: sent to a client that asks for
    it (option 55), as any option is; a raw `option-125` wins, as `option-43` wins over the
    `pxe-*` fields."""

    VIVSO = "3561:1=http://acs.example.test/; 4491:2=0xc0000205; 3561:3=0x01"
    ENCODED = bytes.fromhex(
        "00000de9" "1d"                                         # enterprise 3561, 29 octets
        "0118" + b"http://acs.example.test/".hex() + "030101"   # sub-options 1 and 3
        + "0000118b" "06" "0204c0000205")                       # enterprise 4491, 6 octets

    def test_a_client_asking_for_125_gets_it(self):
        self.store.hset("group:default", vivso=self.VIVSO)
        offer = self.ask(request(opt.DISCOVER, KNOWN, prl=[1, 3, 125]))
        self.assertEqual(offer.options[125], self.ENCODED)
        self.assertEqual(list(offer.options)[-1], 125)
        ack = self.ask(request(opt.REQUEST, KNOWN, o50="192.0.2.10", o54=SERVER,
                               prl=[125, 1]))
        self.assertEqual(ack.options[125], self.ENCODED)
        self.assertEqual(self.warnings, [])

    def test_a_client_not_asking_gets_none(self):
        self.store.hset("group:default", vivso=self.VIVSO)
        self.assertNotIn(125, self.ask(request(opt.DISCOVER, KNOWN, prl=[1, 3, 43])).options)

    def test_the_host_over_the_group_and_raw_hex_wins(self):
        self.store.hset("group:default", vivso=self.VIVSO)
        self.store.hset("mac:" + KNOWN, vivso="9:1=a")
        offer = self.ask(request(opt.DISCOVER, KNOWN, prl=[125]))
        self.assertEqual(offer.options[125], bytes.fromhex("00000009" "03" "010161"))
        self.store.hset("mac:" + KNOWN, **{"option-125": "0000000900"})
        offer = self.ask(request(opt.DISCOVER, KNOWN, prl=[125]))
        self.assertEqual(offer.options[125], bytes.fromhex("0000000900"))

    def test_a_bad_value_is_skipped_with_a_warning(self):
        self.store.hset("group:default", vivso="3561:1=")
        offer = self.ask(request(opt.DISCOVER, KNOWN, prl=[125]))
        self.assertNotIn(125, offer.options)
        self.assertEqual(len(self.warnings), 1, self.warnings)
        self.assertIn("vivso: sub-option 1 of enterprise 3561 has no value", self.warnings[0])


class BootpTests(BootTestCase):
    def test_a_reserved_host_gets_a_bootreply(self):
        self.store.hset("group:default", ntp="192.0.2.22")
        reply = self.ask(bootp(options={12: b"ask"}))
        self.assertEqual((reply.op, reply.xid, reply.yiaddr, reply.siaddr),
                         (2, 0x4242, "192.0.2.10", "192.0.2.5"))
        self.assertEqual((text(reply.file), text(reply.sname)),
                         (b"pxelinux.0", b"tftp.example.test"))
        self.assertEqual(reply.flags, 0x8000)
        # no 53, 51, 54; RFC 1497 options first, in code order
        self.assertEqual(list(reply.options), [1, 3, 6, 12, 15, 28, 42])
        self.assertEqual((reply.get(1), reply.get(3), reply.get(6), reply.get(12)),
                         ("255.255.255.0", ["192.0.2.1"], ["192.0.2.53"], "printer"))
        data = codec.encode(reply, limit=codec.bootp_limit(300))
        self.assertEqual(len(data), 300)
        self.assertEqual(data[236:240], codec.MAGIC_COOKIE)
        self.assertEqual(codec.decode(data).options, reply.options)
        self.assertEqual(self.server.counters[("BOOTP", "bootreply")], 1)
        received, answered, _, _ = metrics.tally(self.server.counters)
        self.assertEqual((received["bootp"], answered[("bootp", "bootreply")]), (1, 1))

    def test_the_vendor_area_keeps_the_first_options_that_fit(self):
        self.store.hset("group:default", search="a.example.test,b.example.test,"
                        "c.example.test,d.example.test")
        reply = self.ask(bootp())
        data = codec.encode(reply, limit=codec.bootp_limit(300))
        self.assertEqual(len(data), 300)
        self.assertEqual(list(codec.decode(data).options), [1, 3, 6, 12, 15, 28])
        data = codec.encode(reply, limit=codec.bootp_limit(400))
        self.assertEqual(list(codec.decode(data).options), [1, 3, 6, 12, 15, 28, 119])

    def test_ciaddr_is_kept_and_the_prl_is_honoured(self):
        reply = self.ask(bootp(ciaddr="192.0.2.10", flags=0, options={55: bytes([3, 1, 51])}))
        self.assertEqual((reply.ciaddr, list(reply.options)), ("192.0.2.10", [1, 3]))

    def test_unknown_and_dynamic_hosts_get_nothing(self):
        self.store.hset("mac:" + OTHER, hostname="dynamic")
        for mac in (OTHER, "02:00:00:00:01:99"):
            self.assertIsNone(self.ask(bootp(mac)))
        self.assertEqual(self.server.counters[("dropped", "bootp-unknown")], 2)
        # a dynamic lease is no reservation either
        ack = self.ask(request(opt.DISCOVER, "02:00:00:00:01:98"))
        self.ask(request(opt.REQUEST, "02:00:00:00:01:98", o50=ack.yiaddr, o54=SERVER))
        self.assertIsNone(self.ask(bootp("02:00:00:00:01:98")))
        self.assertEqual(self.server.counters[("dropped", "bootp-unknown")], 3)

    def test_no_hardware_address_and_a_malformed_53_are_still_dropped(self):
        self.assertIsNone(self.ask(bootp("00:00:00:00:00:00")))
        msg = request(opt.DISCOVER, KNOWN)
        msg.options[53] = b"\x01\x01"
        self.assertIsNone(self.ask(msg))
        self.assertEqual(self.server.counters.get(("BOOTP", "bootreply")), None)


class BootpWireTests(WireTestCase):
    """A BOOTP request as a datagram: the reply is no longer than the request (300 bytes: the
    RFC 951 client's buffer), broadcast when asked, unicast at chaddr otherwise."""

    def setUp(self):
        super().setUp()
        self.store.hset("mac:" + KNOWN, ip="192.0.2.10", hostname="h" * 20)
        self.store.hset("group:default", **{"boot-file": "pxelinux.0", "next-server": SERVER,
                                            "search": "a.example.test,b.example.test"})

    def test_the_reply_fits_the_request(self):
        packet = codec.encode(bootp(), max_size=None)
        self.assertEqual(len(packet), 300)
        [(reply, dest, size)] = self.receive(packet, source=("0.0.0.0", 68))
        self.assertEqual((reply.op, reply.yiaddr, reply.message_type, dest, size),
                         (2, "192.0.2.10", None, ("255.255.255.255", 68), 300))
        self.assertEqual(list(reply.options), [1, 3, 6, 12, 28])  # 119 did not fit
        self.assertEqual(text(reply.file), b"pxelinux.0")
        [(reply, dest, size)] = self.receive(packet + bytes(100), source=("0.0.0.0", 68))
        self.assertEqual(list(reply.options), [1, 3, 6, 12, 28, 119])
        [(reply, dest, _)] = self.receive(codec.encode(bootp(flags=0)),
                                          source=("0.0.0.0", 68))
        self.assertEqual((dest, self.arp[-1][0]), (("192.0.2.10", 68), "192.0.2.10"))

    def test_an_unknown_host_gets_nothing(self):
        self.assertEqual(self.receive(codec.encode(bootp(OTHER))), [])
        self.assertEqual(self.dropped("bootp-unknown"), 1)

    def test_an_rfc951_request_without_the_cookie_gets_an_rfc1497_reply(self):
        """An RFC 951 client (an old PXE or embedded ROM) sends a vendor area of zeros or of
        its own data, no magic cookie: a BOOTP request without options. Its reply carries
        the RFC 1497 vendor area (cookie, options), as ISC dhcpd answers, in 300 bytes."""
        mac = bytes.fromhex(KNOWN.replace(":", ""))
        for vend in (bytes(64), b"ACME" + bytes(range(60)), b""):
            packet = fixtures.rfc951(0x5151, mac, vend=vend)
            [(reply, dest, size)] = self.receive(packet, source=("0.0.0.0", 68))
            data = self.proto.transport.sent[-1][0]
            self.assertEqual((size, data[:1], data[236:240]), (300, b"\x02", codec.MAGIC_COOKIE))
            self.assertEqual((reply.xid, reply.yiaddr, reply.message_type, dest),
                             (0x5151, "192.0.2.10", None, ("192.0.2.10", 68)))
            self.assertEqual(reply.chaddr, mac + bytes(10))
            self.assertEqual(list(reply.options), [1, 3, 6, 12, 28])
            self.assertEqual(reply.get(3), ["192.0.2.1"])
            self.assertEqual((reply.siaddr, text(reply.file)), (SERVER, b"pxelinux.0"))
        self.assertEqual(self.server.counters[("BOOTP", "bootreply")], 3)
        self.assertEqual(self.proto.malformed, 0)

    def test_an_rfc951_request_from_an_unknown_host_gets_nothing(self):
        packet = fixtures.rfc951(0x5152, bytes.fromhex(OTHER.replace(":", "")))
        self.assertEqual(self.receive(packet, source=("0.0.0.0", 68)), [])
        self.assertEqual(self.dropped("bootp-unknown"), 1)
        # shorter than the BOOTP header: not a request at all
        self.assertEqual(self.receive(packet[:235], source=("0.0.0.0", 68)), [])
        self.assertEqual(self.proto.malformed, 1)


class ValidationTests(StoreTestCase):
    def test_boot_fields_are_checked_as_the_server_reads_them(self):
        self.check(A, {"ip": "192.0.2.20", "next-server": "192.0.2.5", "boot-file": URL,
                       "server-name": "tftp", "pxe-boot-menu": "0 Local"})
        self.check("group:lab", {"boot-file": "f" * 127, "server-name": "s" * 63,
                                 "pxe-discovery-control": "8"})
        self.rejected(A, {"next-server": "tftp.example.test"}, "next-server")
        self.rejected("group:lab", {"boot-file": "f" * 128}, "boot-file: 128 bytes")
        self.rejected("group:lab", {"server-name": "s" * 64}, "server-name: 64 bytes")
        self.rejected("subnet:198.51.100.0/24", {"pxe-boot-servers": "1 nowhere"},
                      "pxe-boot-servers")

    def test_vivso_is_checked_as_the_server_reads_it(self):
        self.check(A, {"ip": "192.0.2.20", "vivso": VivsoTests.VIVSO})
        self.check("group:lab", {"vivso": "3561:1=a; 3561:2=0x"})
        for fields, message in (
                ({"vivso": "3561:1"}, "vivso: '3561:1': write <enterprise>:<code>=<value>"),
                ({"vivso": "acme:1=a"}, "vivso: enterprise number 'acme' is not a number "
                                        "0-4294967295"),
                ({"vivso": "3561:300=a"}, "vivso: sub-option code '300' of enterprise 3561 "
                                          "is not a number 0-255"),
                ({"vivso": "3561:1=0xg0"}, "vivso: sub-option 1 of enterprise 3561: '0xg0' "
                                           "is not hex"),
                ({"vivso": "3561:1=%s; 3561:2=%s" % ("a" * 200, "b" * 100)},
                 "vivso: enterprise 3561: 304 bytes of sub-options, at most 255")):
            e = self.rejected("group:lab", fields)
            self.assertEqual(e.details, [message])
        self.rejected("class:acs", {"match-vendor-class": "dslforum.org", "vivso": "1:x=y"},
                      "vivso: sub-option code 'x'")
