"""Rate limits per client and per relay circuit, and the log limiter: token buckets through
DHCPServer with its defaults, their memory bounds, and the twistd options."""

import ipaddress

from twisted.internet.task import Clock
from twisted.python import usage
from twisted.trial import unittest

from apidhcpd import tap
from apidhcpd.dhcp4 import options as opt
from apidhcpd.dhcp4.message import Message
from apidhcpd.dhcp4.profile import Link
from apidhcpd.dhcp4.server import DHCPServer
from apidhcpd.dhcp4.transaction import Policy
from apidhcpd.limits import ratelimit
from apidhcpd.store.memory import MemoryStore

SERVER = "192.0.2.1"
LINK = Link(SERVER, ipaddress.IPv4Network("192.0.2.0/24"))
RELAY = "198.51.100.1"


def discover(n, giaddr="0.0.0.0", circuit=None, remote=None, mtype=opt.DISCOVER, **options):
    msg = Message(xid=n, giaddr=giaddr, chaddr=(0x020000000000 + n).to_bytes(6, "big"))
    msg.set(53, mtype)
    for code, value in options.items():
        msg.set(int(code[1:]), value)
    subs = [(code, value) for code, value in ((1, circuit), (2, remote)) if value is not None]
    if subs:
        msg.set(82, subs)
    return msg


class ServerTestCase(unittest.TestCase):
    def setUp(self):
        self.clock = Clock()
        self.clock.advance(1_000_000)
        self.store = MemoryStore()
        self.store.hset("group:default", lease_time="1h")
        self.store.hset("group:pool", gateway=SERVER, prefix="24",
                        range="192.0.2.10-192.0.2.250")
        # one relayed network of 300 addresses, shared by every switch port behind the relay
        self.store.hset("subnet:198.51.100.0/23", gateway=RELAY,
                        range="198.51.100.10-198.51.101.53")
        self.server = DHCPServer(self.store, Policy(server_id=SERVER), self.clock)

    def ask(self, msg):
        out = []
        self.server.handle(msg, LINK).addCallback(out.append)
        self.clock.advance(0)
        return out[0]

    def dropped(self, kind):
        return self.server.counters.get(("dropped", kind), 0)


class DefaultLimitTests(ServerTestCase):
    def test_one_client_gets_a_burst_then_a_few_requests_a_second(self):
        answers = [self.ask(discover(1)) for _ in range(100)]
        served = sum(a is not None for a in answers)
        self.assertEqual((served, self.dropped("rate-limited-client")),
                         (ratelimit.CLIENT.burst, 100 - ratelimit.CLIENT.burst))
        self.assertLess(ratelimit.CLIENT.burst, 100)
        self.clock.advance(1)
        answers = [self.ask(discover(1)) for _ in range(100)]
        self.assertEqual(sum(a is not None for a in answers), int(ratelimit.CLIENT.rate))
        self.assertIsNotNone(self.ask(discover(2)))  # another client is not affected

    def test_a_flood_through_one_circuit_leaves_addresses_for_the_other_ports(self):
        """10,000 DISCOVERs with made-up MACs through one switch port, as in issue 10:
        they exhaust that port's budget, not the pool; a client behind another port of the
        same relay (and one on another relay using the same circuit-id) is still offered."""
        flood = [self.ask(discover(n, RELAY, circuit=b"sw1/1")) for n in range(10, 10010)]
        offered = sum(a is not None for a in flood)
        self.assertEqual(offered, ratelimit.CIRCUIT.burst)
        self.assertEqual(self.dropped("rate-limited-circuit"), 10000 - offered)
        other_port = self.ask(discover(5, RELAY, circuit=b"sw1/2"))
        self.assertEqual(other_port.message_type, opt.OFFER)
        other_relay = self.ask(discover(6, "198.51.100.2", circuit=b"sw1/1"))
        self.assertEqual(other_relay.message_type, opt.OFFER)

    def test_a_remote_id_has_its_own_budget(self):
        for n in range(10, 10 + ratelimit.CIRCUIT.burst):
            self.assertIsNotNone(self.ask(discover(n, RELAY, remote=b"modem-1")))
        self.assertIsNone(self.ask(discover(9, RELAY, remote=b"modem-1")))
        self.assertEqual(self.dropped("rate-limited-circuit"), 1)
        self.assertIsNotNone(self.ask(discover(8, RELAY, remote=b"modem-2")))

    def test_a_circuits_budget_counts_new_clients_not_their_confirmations(self):
        """DISCOVER and INIT-REBOOT cost a circuit token; the REQUEST that takes an offer and
        the renewals of clients already bound do not."""
        burst = ratelimit.CIRCUIT.burst
        offers = [self.ask(discover(n, RELAY, circuit=b"p")) for n in range(10, 10 + burst)]
        for n, offer in zip(range(10, 10 + burst), offers):
            ack = self.ask(discover(n, RELAY, circuit=b"p", mtype=opt.REQUEST,
                                    o50=offer.yiaddr, o54=SERVER))
            self.assertEqual(ack.message_type, opt.ACK)
        self.assertIsNone(self.ask(discover(9, RELAY, circuit=b"p")))
        self.assertIsNone(self.ask(discover(9, RELAY, circuit=b"p", mtype=opt.REQUEST,
                                            o50="198.51.100.30")))
        self.assertEqual(self.dropped("rate-limited-circuit"), 2)

    def test_zero_turns_a_limit_off(self):
        self.server = DHCPServer(self.store, Policy(server_id=SERVER), self.clock,
                                 limits=ratelimit.Limits(client=None, circuit=None))
        self.assertTrue(all(self.ask(discover(1)) is not None for _ in range(100)))


class BucketTests(unittest.SynchronousTestCase):
    def test_burst_then_rate(self):
        buckets = ratelimit.Buckets(ratelimit.Limit(2.0, 5), cap=100)
        self.assertEqual([buckets.allow("a", 0.0) for _ in range(7)], [True] * 5 + [False] * 2)
        self.assertFalse(buckets.allow("a", 0.4))
        self.assertTrue(buckets.allow("a", 0.5))
        self.assertFalse(buckets.allow("a", 0.6))
        self.assertTrue(buckets.allow("b", 0.6))
        self.assertEqual([buckets.allow("a", 10.0) for _ in range(6)], [True] * 5 + [False])

    def test_the_table_is_capped_and_idle_buckets_go_first(self):
        buckets = ratelimit.Buckets(ratelimit.Limit(1.0, 2), cap=1000)
        for n in range(999):
            buckets.allow(n, 0.0)
        buckets.allow("busy", 0.5)
        buckets.allow("busy", 0.5)
        self.assertEqual(len(buckets), 1000)
        # a second later every bucket but "busy" is full again, so it may as well not exist
        self.assertTrue(buckets.allow("new", 1.0))
        self.assertFalse(buckets.allow("busy", 1.0))  # still spent: it was kept
        self.assertEqual(len(buckets), 2)

    def test_a_flood_of_new_keys_never_grows_the_table_past_its_cap(self):
        buckets = ratelimit.Buckets(ratelimit.Limit(1.0, 2), cap=1000)
        for n in range(50_000):
            self.assertTrue(buckets.allow(n, 0.0))
            self.assertLessEqual(len(buckets), 1000)


class ParseTests(unittest.SynchronousTestCase):
    def test_forms(self):
        self.assertEqual(ratelimit.parse_limit("5/s,20"), ratelimit.Limit(5.0, 20))
        self.assertEqual(ratelimit.parse_limit("5,20"), ratelimit.Limit(5.0, 20))
        self.assertEqual(ratelimit.parse_limit(" 0.5/s , 3 "), ratelimit.Limit(0.5, 3))
        self.assertEqual(ratelimit.parse_limit("10/s"), ratelimit.Limit(10.0, 10))
        self.assertIsNone(ratelimit.parse_limit("0"))

    def test_bad_values(self):
        for text in ("", "fast", "5/m,20", "-1,3", "5,0", "5,x", "5,20,1", "nan,3", "inf,3",
                     "5,1000001"):
            self.assertRaises(ValueError, ratelimit.parse_limit, text)


class OptionTests(unittest.SynchronousTestCase):
    def parse(self, *argv):
        options = tap.Options()
        options.parseOptions(["--interface", "lo", "--ip", "192.0.2.1"] + list(argv))
        return options

    def test_defaults_are_on(self):
        limits = self.parse()["rate-limits"]
        self.assertEqual((limits.client, limits.circuit), (ratelimit.CLIENT, ratelimit.CIRCUIT))

    def test_set_and_off(self):
        limits = self.parse("--rate-limit-client", "2/s,4", "--rate-limit-circuit", "0")[
            "rate-limits"]
        self.assertEqual((limits.client, limits.circuit), (ratelimit.Limit(2.0, 4), None))

    def test_a_bad_value_is_a_one_line_reason(self):
        e = self.assertRaises(usage.UsageError, self.parse, "--rate-limit-client", "fast")
        self.assertIn("--rate-limit-client", str(e))


class LogLimiterTests(unittest.SynchronousTestCase):
    def test_lines_per_period_per_kind_then_a_count(self):
        clock = Clock()
        limiter = ratelimit.LogLimiter(clock, lines=3, period=10.0)
        self.assertEqual([limiter.allow("a") for _ in range(5)], [0, 0, 0, None, None])
        self.assertEqual(limiter.allow("b"), 0)
        clock.advance(10)
        self.assertEqual(limiter.allow("a"), 2)  # two were suppressed meanwhile
        self.assertEqual(limiter.allow("a"), 0)

    def test_kinds_are_bounded(self):
        limiter = ratelimit.LogLimiter(Clock(), lines=1, period=10.0, kinds=8)
        for n in range(100):
            limiter.allow(n)
        self.assertLessEqual(len(limiter), 8)
