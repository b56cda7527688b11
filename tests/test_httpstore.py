"""--api-url: a DHCP server whose store is a remote API node's legacy query, over real HTTP
on loopback (node A: API on a MemoryStore; node B: DHCPServer on HTTPStore)."""

import ipaddress

from twisted.internet import defer, reactor
from twisted.trial import unittest
from twisted.web.server import Site

from apidhcpd.admin.api import AdminAPI
from apidhcpd.dhcp4 import options as opt
from apidhcpd.dhcp4.message import Message
from apidhcpd.dhcp4.profile import Link
from apidhcpd.dhcp4.server import DHCPServer
from apidhcpd.dhcp4.transaction import Policy
from apidhcpd.store.contract import StoreUnavailable
from apidhcpd.store.http import HTTPStore
from apidhcpd.store.memory import MemoryStore

LINK = Link("192.0.2.1", ipaddress.IPv4Network("192.0.2.0/24"))
KNOWN, OTHER = "02:00:00:00:05:01", "02:00:00:00:05:02"


def message(mtype, mac, **options):
    msg = Message(xid=5, chaddr=bytes.fromhex(mac.replace(":", "")))
    msg.set(53, mtype)
    msg.set(55, [1, 3, 6, 12, 15, 28, 51])
    for code, value in options.items():
        msg.set(int(code[1:]), value)
    return msg


class RemoteAPITests(unittest.TestCase):
    def setUp(self):
        self.inventory = MemoryStore()
        self.inventory.hset("group:default", gateway="192.0.2.1", prefix="24",
                            dns="192.0.2.53", domain="example.test", lease_time="2h")
        self.inventory.hset("group:pool", gateway="192.0.2.1", prefix="24", lease_time="10m",
                            range="192.0.2.100-192.0.2.110")
        self.inventory.hset("mac:" + KNOWN, ip="192.0.2.10", hostname="printer",
                            description="The printer")
        node_a = DHCPServer(self.inventory, Policy(server_id="192.0.2.1"), reactor)
        api = AdminAPI(self.inventory, node_a, LINK, "s3cret", reactor)
        self.port = reactor.listenTCP(0, Site(api.resource()), interface="127.0.0.1")
        url = "http://127.0.0.1:%d/" % self.port.getHost().port
        self.remote = HTTPStore(url, reactor, token="s3cret")
        self.addCleanup(self._close)
        self.node_b = DHCPServer(self.remote, Policy(server_id="192.0.2.2"), reactor)

    @defer.inlineCallbacks
    def _close(self):
        yield self.remote.disconnect()
        yield self.port.stopListening()
        d = defer.Deferred()
        reactor.callLater(0.05, d.callback, None)  # let the API side see the closes
        yield d

    @defer.inlineCallbacks
    def test_reserved_host_gets_the_inventorys_answer(self):
        offer = yield self.node_b.handle(message(opt.DISCOVER, KNOWN), LINK)
        self.assertEqual((offer.yiaddr, offer.server_id), ("192.0.2.10", "192.0.2.2"))
        self.assertEqual((offer.get(3), offer.get(6), offer.get(15)),
                         (["192.0.2.1"], ["192.0.2.53"], "example.test"))
        self.assertEqual((offer.get(12), offer.get(51), offer.get(1)),
                         ("printer", 7200, "255.255.255.0"))

    @defer.inlineCallbacks
    def test_dynamic_client_is_allocated_and_committed_on_the_api_node(self):
        offer = yield self.node_b.handle(message(opt.DISCOVER, OTHER), LINK)
        self.assertIn(offer.yiaddr, {"192.0.2.%d" % n for n in range(100, 111)})
        self.assertEqual(offer.get(51), 600)
        ack = yield self.node_b.handle(
            message(opt.REQUEST, OTHER, o50=offer.yiaddr, o54="192.0.2.2"), LINK)
        self.assertEqual((ack.message_type, ack.yiaddr), (opt.ACK, offer.yiaddr))
        self.assertEqual(self.inventory.lease_records[offer.yiaddr].state, "bound")
        release = message(opt.RELEASE, OTHER, o54="192.0.2.2")
        release.ciaddr = offer.yiaddr
        yield self.node_b.handle(release, LINK)
        self.assertNotIn(offer.yiaddr, self.inventory.lease_records)

    @defer.inlineCallbacks
    def test_a_down_api_is_a_logged_drop_and_service_resumes(self):
        number = self.port.getHost().port
        yield self.remote.disconnect()
        yield self.port.stopListening()
        self.assertIsNone((yield self.node_b.handle(message(opt.DISCOVER, KNOWN), LINK)))
        self.assertEqual(self.node_b.counters[("DISCOVER", "drop")], 1)
        yield self.assertFailure(self.remote.ping(), StoreUnavailable)
        api = AdminAPI(self.inventory, DHCPServer(self.inventory, Policy("192.0.2.1"), reactor),
                       LINK, "s3cret", reactor)
        self.port = reactor.listenTCP(number, Site(api.resource()),
                                      interface="127.0.0.1")
        offer = yield self.node_b.handle(message(opt.DISCOVER, KNOWN), LINK)
        self.assertEqual(offer.yiaddr, "192.0.2.10")
