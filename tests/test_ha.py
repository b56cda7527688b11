"""The seed's standby: peer monitoring and what a standby answers."""

import ipaddress

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial import unittest

from apidhcpd import ha
from apidhcpd import options as opt
from apidhcpd.handlers import Policy
from apidhcpd.inventory import Link
from apidhcpd.message import Message
from apidhcpd.server import DHCPServer
from apidhcpd.store import MemoryStore

LINK = Link("192.0.2.2", ipaddress.IPv4Network("192.0.2.0/24"))


class FakeResponse:
    phrase = b"OK"
    length = 3

    def __init__(self, code):
        self.code = code

    def deliverBody(self, protocol):
        from twisted.web.client import ResponseDone
        from twisted.python.failure import Failure
        protocol.dataReceived(b"ok\n")
        protocol.connectionLost(Failure(ResponseDone()))


class FakeAgent:
    """Answers each request with the next outcome: an HTTP code, 'down' or 'hang'."""

    def __init__(self):
        self.outcomes = []

    def request(self, method, url, headers=None, body=None):
        outcome = self.outcomes.pop(0)
        if outcome == "down":
            return defer.fail(ConnectionRefusedError("refused"))
        if outcome == "hang":
            return defer.Deferred()
        return defer.succeed(FakeResponse(outcome))


class PeerMonitorTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.agent = FakeAgent()
        self.monitor = ha.PeerMonitor("http://192.0.2.1:8079/ping", self.clock, agent=self.agent,
                                      takeover_after=3, handback_after=2)

    def polls(self, *outcomes):
        self.agent.outcomes.extend(outcomes)
        for _ in outcomes:
            self.monitor.poll()
            self.clock.advance(1)

    def test_takes_over_after_three_missed_beats_only(self):
        self.polls("down", "hang")
        self.assertTrue(self.monitor.master_alive)
        self.polls(200, "down", 503)
        self.assertTrue(self.monitor.master_alive)  # a good beat resets the count
        self.polls("hang")
        self.assertFalse(self.monitor.master_alive)
        self.assertEqual((self.monitor.state, self.monitor.takeovers), ("master-dead", 1))

    def test_hands_back_after_two_good_beats(self):
        self.polls("down", "down", "down", 200)
        self.assertFalse(self.monitor.master_alive)
        self.polls(200)
        self.assertTrue(self.monitor.master_alive)


class StandbyTests(unittest.TestCase):
    def setUp(self):
        self.clock = Clock()
        self.clock.advance(1_000_000)
        self.store = MemoryStore()
        self.store.hset("group:default", gateway="192.0.2.1", prefix="24")
        self.store.hset("group:pool", gateway="192.0.2.1", prefix="24",
                        range="192.0.2.100-192.0.2.110")
        self.store.hset("mac:02:00:00:00:06:01", ip="192.0.2.10")
        self.monitor = ha.PeerMonitor("http://192.0.2.1:8079/ping", self.clock, agent=FakeAgent())

    def standby(self, allow):
        server = DHCPServer(self.store, Policy(server_id="192.0.2.2"), self.clock)
        ha.install(server, self.monitor, self.store, allow)
        return server

    def ask(self, server, mtype, mac, **options):
        msg = Message(xid=1, chaddr=bytes.fromhex(mac.replace(":", "")))
        msg.set(53, mtype)
        for code, value in options.items():
            msg.set(int(code[1:]), value)
        out = []
        server.handle(msg, LINK).addCallback(out.append)
        self.clock.advance(0)
        return out[0]

    def test_silent_while_the_master_is_alive(self):
        server = self.standby(allow=True)
        self.assertIsNone(self.ask(server, opt.DISCOVER, "02:00:00:00:06:01"))
        self.assertEqual(server.counters[("dropped", "standby")], 1)

    def test_after_takeover_known_hosts_and_existing_leases_only(self):
        self.store.commit("02:00:00:00:06:02", "192.0.2.105",
                          ha_source(self.store), 3600, 1_000_000)
        server = self.standby(allow=False)
        self.monitor.master_alive = False
        self.assertEqual(self.ask(server, opt.DISCOVER, "02:00:00:00:06:01").yiaddr, "192.0.2.10")
        renew = self.ask(server, opt.REQUEST, "02:00:00:00:06:02", o50="192.0.2.105")
        self.assertEqual((renew.message_type, renew.yiaddr), (opt.ACK, "192.0.2.105"))
        self.assertIsNone(self.ask(server, opt.DISCOVER, "02:00:00:00:06:03"))
        self.assertEqual(server.counters[("dropped", "standby-no-allocation")], 1)

    def test_with_allow_slave_new_clients_get_addresses(self):
        server = self.standby(allow=True)
        self.monitor.master_alive = False
        offer = self.ask(server, opt.DISCOVER, "02:00:00:00:06:03")
        self.assertTrue(offer.yiaddr.startswith("192.0.2.1"))


def ha_source(store):
    from apidhcpd import allocation
    from apidhcpd.store import AddressSource
    return AddressSource("pool", allocation.parse_ranges("192.0.2.100-192.0.2.110"))
