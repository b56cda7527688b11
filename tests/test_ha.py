"""The seed's standby: peer monitoring and what a standby answers."""

import ipaddress

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial import unittest

from apidhcpd.dhcp4 import options as opt
from apidhcpd.dhcp4.message import Message
from apidhcpd.dhcp4.profile import Link
from apidhcpd.dhcp4.server import DHCPServer
from apidhcpd.dhcp4.transaction import Policy
from apidhcpd.ha import monitor as ha
from apidhcpd.store.memory import MemoryStore

LINK = Link("192.0.2.2", ipaddress.IPv4Network("192.0.2.0/24"))


class FakeResponse:
    phrase = b"OK"
    length = 3

    def __init__(self, code):
        self.code = code

    def deliverBody(self, protocol):
        from twisted.python.failure import Failure
        from twisted.web.client import ResponseDone
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
        return DHCPServer(self.store, Policy(server_id="192.0.2.2"), self.clock,
                          standby=self.monitor, allow_allocation=allow)

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
    from apidhcpd.inventory import allocation
    from apidhcpd.store.contract import AddressSource
    return AddressSource("pool", allocation.parse_ranges("192.0.2.100-192.0.2.110"))


# ---------------------------------------------------------------- the heartbeat, over HTTP

import os  # noqa: E402
import tempfile  # noqa: E402

from twisted.internet import reactor  # noqa: E402
from twisted.internet.endpoints import TCP4ClientEndpoint  # noqa: E402
from twisted.internet.protocol import Factory, Protocol  # noqa: E402
from twisted.web.resource import Resource  # noqa: E402
from twisted.web.server import Site  # noqa: E402

from apidhcpd import tap  # noqa: E402
from tests.redisserver import RedisTestMixin, free_port  # noqa: E402

MASTER_ID = "192.0.2.1"


class Impostor(Resource):
    """Any web server on the master's address: 200 on /ping, with whatever headers it
    recorded from the real master (a replay), or none."""

    isLeaf = True

    def __init__(self, headers=()):
        super().__init__()
        self.headers = list(headers)

    def render_GET(self, request):
        for name, value in self.headers:
            request.setHeader(name, value)
        return b"ok (standalone)\n"


def options(*argv):
    parsed = tap.Options()
    parsed.parseOptions(["--interface", "lo", "--ip", MASTER_ID, "--api-listen", "none"]
                        + list(argv))
    return parsed


def secret_file(testcase, text):
    fd, path = tempfile.mkstemp()
    os.write(fd, text)
    os.close(fd)
    testcase.addCleanup(os.unlink, path)
    return path


def service(top, kind, name=None):
    return next(s for s in top if type(s).__name__ == kind and (name is None
                                                                or s.name == name))


class HeartbeatAuthTests(unittest.TestCase):
    """A standby made by tap.makeService polls a /ping on loopback: only the master's own,
    signed beat keeps it silent."""

    timeout = 30

    def setUp(self):
        self.secret = secret_file(self, b"a-shared-secret-0123456789\n")

    def listen(self, factory):
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        return port.getHost().port

    def master(self, *argv):
        """The master's heartbeat, as tap.py builds it (its health: a store that answers)."""
        top = tap.makeService(options("--heartbeat-port", "18079", *argv), reactor=reactor)
        heartbeat = service(top, "TCPServer")
        health = heartbeat.args[1].wrappedFactory.resource.children[b"ping"].health
        health.error = None
        return self.listen(heartbeat.args[1])

    def standby(self, port, *argv):
        top = tap.makeService(options("--slave", "--master-ip", "127.0.0.1", "--master-id",
                                      MASTER_ID, "--heartbeat-port", str(port),
                                      "--takeover-after", "2", "--peer-timeout", "2s",
                                      *argv), reactor=reactor)
        return service(top, "DHCPService").protocol.server.chain[0].monitor

    @defer.inlineCallbacks
    def beats(self, monitor, count=2):
        for _ in range(count):
            yield monitor.poll()
        return monitor.master_alive

    @defer.inlineCallbacks
    def test_any_200_is_not_the_master(self):
        port = self.listen(Site(Impostor()))
        monitor = self.standby(port)
        self.assertFalse((yield self.beats(monitor)))
        self.assertIn("not as the master 192.0.2.1", monitor.last_error)

    @defer.inlineCallbacks
    def test_the_masters_own_beat_keeps_the_standby_silent(self):
        port = self.master("--id", MASTER_ID)
        monitor = self.standby(port)
        self.assertTrue((yield self.beats(monitor, 3)))
        self.assertEqual(monitor.misses, 0)

    @defer.inlineCallbacks
    def test_with_a_secret_only_a_signed_fresh_beat_counts(self):
        port = self.master("--id", MASTER_ID, "--heartbeat-secret-file", self.secret)
        monitor = self.standby(port, "--heartbeat-secret-file", self.secret)
        self.assertTrue((yield self.beats(monitor, 3)))
        # an impostor naming the master's id, replaying a real signed answer
        recorded = []
        agent_monitor = ha.PeerMonitor("http://127.0.0.1:%d/ping" % port, reactor,
                                       master_id=MASTER_ID)
        original = agent_monitor._read
        agent_monitor._read = lambda response, nonce: (recorded.append(
            [(name, response.headers.getRawHeaders(name)[0]) for name in (
                b"x-apidhcpd-server-id", b"x-apidhcpd-time", b"x-apidhcpd-auth")]),
            original(response, nonce))[1]
        yield agent_monitor.poll()
        replay = self.standby(self.listen(Site(Impostor(recorded[0]))),
                              "--heartbeat-secret-file", self.secret)
        self.assertFalse((yield self.beats(replay)))
        self.assertIn("wrong heartbeat signature", replay.last_error)
        # a master without the secret, or with another one
        for argv in ((), ("--heartbeat-secret-file", secret_file(self, b"another-secret-0123"))):
            port = self.master("--id", MASTER_ID, *argv)
            monitor = self.standby(port, "--heartbeat-secret-file", self.secret)
            self.assertFalse((yield self.beats(monitor)))

    def test_a_short_secret_is_refused_at_start(self):
        from twisted.python import usage
        e = self.assertRaises(usage.UsageError, options, "--heartbeat-secret-file",
                              secret_file(self, b"short"))
        self.assertIn("at least 16 bytes", str(e))


class RawConnection(Protocol):
    def __init__(self):
        self.closed = defer.Deferred()
        self.received = b""

    def dataReceived(self, data):
        self.received += data

    def connectionLost(self, reason):
        self.closed.callback(self.received)


class HeartbeatListenerTests(unittest.TestCase):
    """The master's listener: bound where --heartbeat-listen says, a few connections per peer,
    none kept for long."""

    timeout = 30

    def setUp(self):
        top = tap.makeService(options("--heartbeat-port", "18079", "--heartbeat-listen",
                                      "127.0.0.1"), reactor=reactor)
        heartbeat = service(top, "TCPServer")
        self.assertEqual(heartbeat.kwargs.get("interface"), "127.0.0.1")
        heartbeat.args[1].wrappedFactory.resource.children[b"ping"].health.error = None
        self.factory = heartbeat.args[1]
        port = reactor.listenTCP(0, heartbeat.args[1], interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.port = port.getHost().port

    @defer.inlineCallbacks
    def connect(self, source="127.0.0.1"):
        conn = RawConnection()
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.port,
                                      bindAddress=(source, 0))
        yield endpoint.connect(Factory.forProtocol(lambda: conn))
        self.addCleanup(lambda: conn.transport.abortConnection()
                        if conn.transport.connected else None)
        return conn

    @defer.inlineCallbacks
    def test_slow_connections_are_closed_and_capped_per_peer(self):
        slow = []
        for _ in range(6):
            conn = yield self.connect()
            conn.transport.write(b"GET /pi")  # and never more
            slow.append(conn)
        # a seventh peer address still gets its answer
        other = yield self.connect("127.0.0.2")
        other.transport.write(b"GET /ping HTTP/1.0\r\n\r\n")
        answer = yield other.closed
        self.assertTrue(answer.startswith(b"HTTP/1.0 "), answer)
        self.assertEqual(self.factory.refused, 2)  # 4 per peer: the last two at once
        self.assertEqual([c.closed.called for c in slow], [False] * 4 + [True] * 2)
        started = reactor.seconds()
        results = yield defer.gatherResults([
            defer.ensureDeferred(self.within(conn.closed, 5)) for conn in slow])
        self.assertLess(reactor.seconds() - started, 2.5)  # each lives 2 s at most
        self.assertEqual(results, [b""] * 6)
        self.assertEqual(self.factory.peers, {})

    async def within(self, d, seconds):
        timer = reactor.callLater(seconds, d.cancel)
        result = await d
        if timer.active():
            timer.cancel()
        return result


class StartupPingTests(RedisTestMixin, unittest.TestCase):
    """/ping right after start-up: Redis answers, so /ping says ok, not 'no connection'."""

    timeout = 30

    @defer.inlineCallbacks
    def test_the_first_answer_reflects_a_real_check(self):
        port = free_port()
        top = tap.makeService(options("--redis", self.redis.url, "--heartbeat-port", str(port),
                                      "--heartbeat-listen", "127.0.0.1"), reactor=reactor)
        started = []
        for part in (service(top, "StoreService"), service(top, "TimerService", "health"),
                     service(top, "TCPServer")):
            part.startService()
            started.append(part)
        self.addCleanup(lambda: defer.gatherResults(
            [defer.maybeDeferred(s.stopService) for s in reversed(started)]))
        conn = RawConnection()
        yield TCP4ClientEndpoint(reactor, "127.0.0.1", port).connect(
            Factory.forProtocol(lambda: conn))
        conn.transport.write(b"GET /ping HTTP/1.0\r\n\r\n")
        answer = yield conn.closed
        self.assertTrue(answer.startswith(b"HTTP/1.0 200 "), answer)
        self.assertTrue(answer.endswith(b"ok (standalone)\n"), answer)


class StartupHealthTests(unittest.SynchronousTestCase):
    """Health at start-up, on a Clock: a store still connecting is asked again at once and is
    reported unreachable once, when the start-up window ends without it."""

    def test_a_store_never_reached_is_reported_once(self):
        from twisted.internet.task import Clock
        from twisted.logger import globalLogPublisher

        from apidhcpd.ha.heartbeat import STARTING, Health
        from apidhcpd.store.contract import StoreUnavailable

        class Store:
            connected, up, pings = False, False, 0

            def ping(self):
                self.pings += 1
                return defer.succeed(True) if self.up else defer.fail(
                    StoreUnavailable("no connection to Redis at 192.0.2.9:6379"))

        clock, store, events = Clock(), Store(), []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        health = Health(store, clock=clock)
        health.check()
        ready = health.ready()
        clock.pump([0.05] * 20)
        self.assertEqual((health.problem(), ready.called), (STARTING, False))
        self.assertGreater(store.pings, 10)  # asked again every 50 ms
        clock.pump([0.05] * 30)
        self.assertTrue(ready.called)
        for _ in range(5):
            health.check()
        warned = [e for e in events if "store unreachable" in e.get("log_format", "")]
        self.assertEqual(len(warned), 1)
        store.up = store.connected = True
        health.check()
        self.assertIsNone(health.problem())
