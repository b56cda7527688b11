"""Relay agents: option 82 sub-options, subnet selection order, and relayed service."""

import ipaddress

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial import unittest

from apidhcpd.dhcp4 import codec
from apidhcpd.dhcp4 import options as opt
from apidhcpd.dhcp4.message import Message
from apidhcpd.dhcp4.profile import Link
from apidhcpd.dhcp4.protocol import DHCPProtocol
from apidhcpd.dhcp4.relay import RelayInfo, id_key, relay_info, selector
from apidhcpd.dhcp4.server import DHCPServer
from apidhcpd.dhcp4.transaction import Policy
from apidhcpd.store.memory import MemoryStore

LINK = Link("192.0.2.1", ipaddress.IPv4Network("192.0.2.0/24"))
MAC = "02:00:00:00:03:01"
RELAY = "198.51.100.1"


def relayed(mtype=opt.DISCOVER, giaddr=RELAY, subs=(), **options):
    msg = Message(xid=7, giaddr=giaddr, hops=1, chaddr=bytes.fromhex(MAC.replace(":", "")))
    msg.set(53, mtype)
    for code, value in options.items():
        msg.set(int(code[1:]), value)
    if subs:
        msg.set(82, list(subs))
    return msg


class SelectorTests(unittest.SynchronousTestCase):
    def test_order_link_selection_118_giaddr_ciaddr_interface(self):
        msg = relayed(subs=[(5, bytes([203, 0, 113, 0]))], o118="198.51.100.64")
        msg.ciaddr = "192.0.2.77"
        self.assertEqual(selector(msg, relay_info(msg), "192.0.2.1"), "203.0.113.0")
        msg.options.pop(82)
        self.assertEqual(selector(msg, relay_info(msg), "192.0.2.1"), "198.51.100.64")
        msg.options.pop(118)
        self.assertEqual(selector(msg, relay_info(msg), "192.0.2.1"), RELAY)
        msg.giaddr = "0.0.0.0"
        self.assertEqual(selector(msg, relay_info(msg), "192.0.2.1"), "192.0.2.77")
        msg.ciaddr = "0.0.0.0"
        self.assertEqual(selector(msg, relay_info(msg), "192.0.2.1"), "192.0.2.1")

    def test_sub_options(self):
        info = relay_info(relayed(subs=[(1, b"sw1/7"), (2, b"\x00\x01"),
                                        (11, bytes([198, 51, 100, 1])), (19, b"")]))
        self.assertEqual(info, RelayInfo(b"sw1/7", b"\x00\x01", None, RELAY, True))
        self.assertEqual(relay_info(relayed()), RelayInfo())

    def test_unreadable_option_82_gives_nothing(self):
        msg = relayed()
        msg.set_raw(82, b"\x01\x09ab")
        self.assertEqual(relay_info(msg), RelayInfo())

    def test_id_keys(self):
        self.assertEqual(id_key(b"sw1/7"), "sw1/7")
        self.assertEqual(id_key(b"port 7\x00"), "706f7274203700")


class RelayedServiceTests(unittest.TestCase):
    def setUp(self):
        self.clock = Clock()
        self.clock.advance(1_000_000)
        self.store = MemoryStore()
        self.store.hset("group:default", dns="192.0.2.53", lease_time="1h")
        self.store.hset("subnet:198.51.100.0/24", gateway="198.51.100.1",
                        range="198.51.100.10-198.51.100.20", lease_time="10m")
        self.store.hset("subnet:192.0.2.0/24", gateway="192.0.2.1",
                        range="192.0.2.100-192.0.2.110")
        self.server = self.make()

    def make(self, **policy):
        return DHCPServer(self.store, Policy(server_id="192.0.2.1", **policy), self.clock)

    def ask(self, msg, server=None):
        out = []
        (server or self.server).handle(msg, LINK).addCallback(out.append)
        self.clock.advance(0)
        return out[0]

    def test_relayed_client_gets_an_address_and_options_of_the_relays_subnet(self):
        offer = self.ask(relayed(subs=[(1, b"sw1/7")]))
        self.assertEqual(offer.yiaddr, "198.51.100.10")
        self.assertEqual((offer.get(1), offer.get(3)), ("255.255.255.0", ["198.51.100.1"]))
        self.assertEqual((offer.get(51), offer.get(6)), (600, ["192.0.2.53"]))
        self.assertEqual(offer.get(82), [(1, b"sw1/7")])
        self.assertEqual(list(codec.decode(codec.encode(offer)).options)[-1], 82)  # RFC 3046
        ack = self.ask(relayed(opt.REQUEST, subs=[(1, b"sw1/7")], o50=offer.yiaddr,
                               o54="192.0.2.1"))
        self.assertEqual(ack.message_type, opt.ACK)
        self.assertEqual(self.store.lease_records[offer.yiaddr].relay, "0105737731" + "2f37")

    def test_local_client_still_gets_a_local_address(self):
        msg = relayed(giaddr="0.0.0.0")
        self.assertEqual(self.ask(msg).yiaddr, "192.0.2.100")

    def test_reservation_on_another_subnet_is_not_given(self):
        self.store.hset("mac:" + MAC, ip="192.0.2.50")
        self.assertIsNone(self.ask(relayed()))
        nak = self.ask(relayed(opt.REQUEST, o50="192.0.2.50"))
        self.assertEqual(nak.message_type, opt.NAK)
        self.assertTrue(nak.broadcast)

    def test_circuit_id_selects_a_host(self):
        self.store.hset("relay:sw1/7", ip="198.51.100.77", hostname="port7")
        offer = self.ask(relayed(subs=[(1, b"sw1/7")]))
        self.assertEqual((offer.yiaddr, offer.get(12)), ("198.51.100.77", "port7"))

    def test_untrusted_relays_are_dropped_and_counted(self):
        strict = self.make(trusted_relays=frozenset({"198.51.100.254"}))
        self.assertIsNone(self.ask(relayed(), strict))
        self.assertEqual(strict.counters[("dropped", "untrusted-relay")], 1)
        self.assertIsNotNone(self.ask(relayed(giaddr="198.51.100.254"), strict))
        self.assertIsNotNone(self.ask(relayed(giaddr="0.0.0.0"), strict))

    def test_server_identifier_override(self):
        override = [(11, bytes([198, 51, 100, 1]))]
        offer = self.ask(relayed(subs=override))
        self.assertEqual(offer.server_id, RELAY)
        ack = self.ask(relayed(opt.REQUEST, subs=override, o50=offer.yiaddr, o54=RELAY))
        self.assertEqual((ack.message_type, ack.server_id), (opt.ACK, RELAY))

    def test_no_subnet_for_a_relay_is_a_drop(self):
        self.store.hset("group:pool", range="192.0.2.200-192.0.2.210")  # something to give
        self.assertIsNone(self.ask(relayed(giaddr="203.0.113.1")))
        self.assertEqual(self.server.counters[("dropped", "no-subnet")], 1)


class FakeTransport:
    def __init__(self):
        self.written = []
        self.socket = self  # the protocol sends on the port's socket

    def sendto(self, data, addr):
        self.written.append((codec.decode(data), addr))


class RelayPortTests(unittest.SynchronousTestCase):
    def send(self, subs, source_port):
        server = type("S", (), {})()
        server.handle = lambda request, link: defer.succeed(Message(op=2, xid=request.xid))
        server.policy = Policy(server_id="192.0.2.1")
        proto = DHCPProtocol(server, LINK)
        proto.transport = FakeTransport()
        proto.datagramReceived(codec.encode(relayed(subs=subs)), (RELAY, source_port))
        return proto.transport.written[0][1]

    def test_reply_goes_to_the_relay_port_67(self):
        self.assertEqual(self.send([(1, b"x")], 3067), (RELAY, 67))

    def test_rfc_8357_reply_goes_to_the_relays_source_port(self):
        self.assertEqual(self.send([(19, b"")], 3067), (RELAY, 3067))
