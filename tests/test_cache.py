"""OutageCache: what is answered while the store is unreachable."""

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial import unittest

from apidhcpd.store.contract import (
    Bound,
    CommitIntent,
    Host,
    Lease,
    Lookup,
    Offered,
    OfferIntent,
    StoreUnavailable,
)
from apidhcpd.store.outage import OutageCache

RESERVED = ["mac:02:00:00:00:08:01"]
DYNAMIC = ["mac:02:00:00:00:08:02"]
MAC2 = "02:00:00:00:08:02"
NOW = 1_000_000


class FlakyStore:
    """Answers like a store until `down`; then every lookup fails, or hangs with `hang`."""

    def __init__(self):
        self.down = self.hang = False

    def lookup(self, keys, now, selector, intent=None):
        if self.hang:
            return defer.Deferred()
        if self.down:
            return defer.fail(StoreUnavailable("down"))
        if keys == RESERVED:
            return defer.succeed(Lookup(Host(keys[0], {"ip": "192.0.2.10"}), "default"))
        allocation = None
        if isinstance(intent, CommitIntent):
            allocation = Bound(Lease(intent.address, intent.mac, "bound", now + 600))
        return defer.succeed(Lookup(Host(keys[0], {"ip": "192.0.2.100", "dynamic": "1"}),
                                    "pool", allocation=allocation))

    def release(self, mac, ip, now):
        return defer.succeed(True)


class OutageCacheTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.backend = FlakyStore()
        self.cache = OutageCache(self.backend, self.clock, timeout=1.0)

    def lookup(self, keys, intent=None, now=NOW):
        return self.cache.lookup(keys, now, "192.0.2.1", intent)

    def test_reserved_hosts_are_answered_from_the_last_lookup(self):
        self.successResultOf(self.lookup(RESERVED))
        self.backend.down = True
        found = self.successResultOf(self.lookup(RESERVED))
        self.assertEqual((found.host.reserved_ip, self.cache.served), ("192.0.2.10", 1))

    def test_a_known_lease_is_offered_and_renewed_for_its_remaining_time_only(self):
        self.successResultOf(self.lookup(DYNAMIC, CommitIntent(MAC2, "192.0.2.100",
                                                         state="SELECTING")))
        self.backend.down = True
        offer = self.successResultOf(self.lookup(DYNAMIC, OfferIntent(MAC2), NOW + 100))
        self.assertEqual(offer.allocation, Offered("192.0.2.100"))
        renew = self.successResultOf(self.lookup(
            DYNAMIC, CommitIntent(MAC2, "192.0.2.100", state="RENEWING"), NOW + 300))
        self.assertEqual(renew.allocation.lease.expires, NOW + 600)  # not extended
        other = self.lookup(DYNAMIC, CommitIntent(MAC2, "192.0.2.101", state="INIT-REBOOT"))
        self.failureResultOf(other, StoreUnavailable)
        late = self.lookup(DYNAMIC, OfferIntent(MAC2), NOW + 600)
        self.failureResultOf(late, StoreUnavailable)

    def test_new_clients_get_nothing(self):
        self.backend.down = True
        self.failureResultOf(self.lookup(["mac:02:00:00:00:08:09"], OfferIntent("x")),
                             StoreUnavailable)

    def test_a_store_that_stops_answering_counts_as_down(self):
        self.successResultOf(self.lookup(RESERVED))
        self.backend.hang = True
        d = self.lookup(RESERVED)
        self.assertNoResult(d)
        self.clock.advance(1.0)
        self.assertEqual(self.successResultOf(d).host.reserved_ip, "192.0.2.10")

    def test_everything_else_passes_through(self):
        self.assertTrue(self.successResultOf(self.cache.release("m", "192.0.2.1", NOW)))


def held(root, stop=()):
    """(largest container's entries, bytes of every str and bytes reachable) from `root`'s
    attributes, each object counted once, not following into the objects in `stop` (the
    wrapped store, the clock). Independent of how the caches are built."""
    import collections

    import attr as attrs
    seen, largest, total = set(map(id, stop)), 0, 0
    todo = [value for name, value in vars(root).items() if not name.startswith("__")]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or obj is None or isinstance(obj, (int, float, bool)):
            continue
        seen.add(id(obj))
        if isinstance(obj, (str, bytes)):
            total += len(obj)
        elif isinstance(obj, dict):
            largest = max(largest, len(obj))
            todo.extend(obj.keys())
            todo.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset, collections.deque)):
            largest = max(largest, len(obj))
            todo.extend(obj)
        elif attrs.has(type(obj)):
            todo.extend(getattr(obj, a.name) for a in attrs.fields(type(obj)))
        elif hasattr(obj, "__dict__") and type(obj).__module__.startswith("apidhcpd"):
            todo.extend(vars(obj).values())
        elif hasattr(obj, "__slots__") and type(obj).__module__.startswith("apidhcpd"):
            todo.extend(getattr(obj, s) for s in obj.__slots__ if hasattr(obj, s))
    return largest, total


class BoundedMemoryTests(unittest.SynchronousTestCase):
    """Many distinct clients with large option 61, 12 and 82 values, as raw packets through
    the protocol and the whole stack (OutageCache over InventoryCache over a store): every
    per-client structure stays within its caps, in entries and in bytes (issue 10, item 4)."""

    ENTRIES, BYTES = 50, 16_000

    def setUp(self):
        import ipaddress

        from apidhcpd.dhcp4 import codec
        from apidhcpd.dhcp4.handlers import default_chain
        from apidhcpd.dhcp4.profile import Link
        from apidhcpd.dhcp4.protocol import DHCPProtocol
        from apidhcpd.dhcp4.server import DHCPServer
        from apidhcpd.dhcp4.transaction import Policy
        from apidhcpd.store.inventorycache import InventoryCache
        from tests.test_inventorycache import CountingStore
        self.codec = codec
        self.clock = Clock()
        self.clock.advance(NOW)
        self.store = CountingStore()
        self.store.hset("group:default", gateway="192.0.2.1", prefix="24", lease_time="1h")
        self.store.hset("group:pool", gateway="192.0.2.1", prefix="24")
        self.store.hset("subnet:198.51.100.0/24", gateway="198.51.100.1",
                        range="198.51.100.10-198.51.100.250")
        for n in range(200):  # reserved hosts with large fields of their own
            self.store.hset("mac:02:00:00:01:00:%02x" % n, ip="192.0.2.%d" % (10 + n),
                            hostname="h%d-" % n + "x" * 200, option_224="ab" * 700)
        caps = {"size": self.ENTRIES, "max_bytes": self.BYTES}
        self.inventory = InventoryCache(self.store, self.clock, ttl=60, **caps)
        self.inventory.connect()
        self.addCleanup(self.inventory.disconnect)
        self.outage = OutageCache(self.inventory, self.clock, timeout=1.0, **caps)
        policy = Policy(server_id="192.0.2.1")
        chain = default_chain(policy, self.outage, lambda message: None)
        self.options = chain[3]
        self.options.__init__(self.options.warn, cache_size=self.ENTRIES,
                              max_bytes=self.BYTES)
        server = DHCPServer(self.outage, policy, self.clock, chain=chain, log_exchanges=False)
        self.protocol = DHCPProtocol(server, Link("192.0.2.1",
                                                  ipaddress.IPv4Network("192.0.2.0/24")))
        self.protocol.transport = self.sent = FakeTransport()

    def send(self, msg):
        self.sent.replies.clear()
        self.protocol.datagramReceived(self.codec.encode(msg, max_size=1500),
                                       (msg.giaddr if msg.giaddr != "0.0.0.0" else
                                        "192.0.2.99", 67))
        self.clock.advance(0)
        return self.sent.replies[0] if self.sent.replies else None

    def client(self, n, mtype, relayed=True, ciaddr="0.0.0.0", **options):
        from apidhcpd.dhcp4.message import Message
        mac = bytes.fromhex("0a%010x" % n) if relayed else bytes.fromhex("0200000100%02x" % n)
        msg = Message(op=1, xid=n, giaddr="198.51.100.1" if relayed else "0.0.0.0",
                      chaddr=mac, ciaddr=ciaddr)
        msg.set(53, mtype)
        msg.set(57, 1500)
        if relayed:
            msg.set(61, bytes([255]) + n.to_bytes(4, "big") * 62 + b"\x00\x00")  # 253 bytes
            msg.set(12, ("c%d-" % n).ljust(250, "y"))
            msg.set(82, [(1, n.to_bytes(4, "big") * 30 + b"\x01\x02\x03"),
                         (2, n.to_bytes(4, "big") * 30 + b"\x04\x05\x06")])
        for code, value in options.items():
            msg.set(int(code[1:]), value)
        return msg

    def test_every_structure_stays_within_its_caps(self):
        answered = 0
        for n in range(400):  # DORA, and every other client a RELEASE: 200 leases held
            offer = self.send(self.client(n, 1))
            ack = offer and self.send(self.client(n, 3, o50=offer.yiaddr, o54="192.0.2.1"))
            answered += bool(ack and ack.message_type == 5)
            if n % 2:
                self.send(self.client(n, 7, ciaddr=offer.yiaddr if offer else "0.0.0.0",
                                      o54="192.0.2.1"))
            self.clock.advance(0.01)
            if n % 25 == 24:
                self.check_caps()
        for n in range(200):  # reserved hosts: a profile each (their own hostname)
            offer = self.send(self.client(n, 1, relayed=False))
            answered += bool(offer and offer.yiaddr == "192.0.2.%d" % (10 + n))
            if n % 25 == 24:
                self.check_caps()
        self.assertEqual(answered, 600)

    def check_caps(self):
        for name, obj in (("outage cache", self.outage), ("inventory cache", self.inventory),
                          ("group options", self.options)):
            entries, size = held(obj, stop=(self.store, self.inventory, self.clock))
            # two bounded maps at most per object, each within ENTRIES and BYTES, plus the
            # inventory's groups; the inventory cache's index has an entry per host key
            # (five here: client:<61>, client:<12>, mac:, relay:, remote:)
            keys = 5 if obj is self.inventory else 1
            self.assertLessEqual(entries, keys * self.ENTRIES, name)
            self.assertLessEqual(size, 2 * self.BYTES + 4_000, name)


class FakeTransport:
    def __init__(self):
        self.replies = []
        self.socket = self

    def sendto(self, data, addr):
        from apidhcpd.dhcp4 import codec
        self.replies.append(codec.decode(data))


class BoundedMapTests(unittest.SynchronousTestCase):
    def test_caps_in_entries_and_bytes_drop_the_oldest_one_at_a_time(self):
        from apidhcpd.limits.bounded import BoundedMap
        dropped = []
        m = BoundedMap(3, 100, on_evict=lambda k, v: dropped.append(k))
        for key in "abc":
            self.assertTrue(m.put(key, key.upper(), 10))
        m.put("a", "A2", 10)  # stored again: to the back
        m.put("d", "D", 10)
        self.assertEqual((list(m.entries), dropped, m.bytes), (["c", "a", "d"], ["b"], 30))
        m.put("e", "E", 75)  # over the byte cap: the oldest, c, goes
        self.assertEqual((list(m.entries), dropped, m.bytes), (["a", "d", "e"], ["b", "c"], 95))
        self.assertFalse(m.put("f", "F", 101))  # alone over the cap: not stored
        self.assertEqual((len(m), m.evicted), (3, 2))
        self.assertEqual((m.pop("d"), m.bytes, dropped[-1]), ("D", 85, "c"))

    def test_expiry_on_read_and_at_the_front_when_storing(self):
        from apidhcpd.limits.bounded import BoundedMap
        m = BoundedMap(10, 1000)
        m.put("a", 1, 10, expires=100)
        m.put("b", 2, 10, expires=200)
        m.put("c", 3, 10, expires=300)
        self.assertEqual((m.get("a", now=99), m.get("a", now=100)), (1, None))
        self.assertEqual(m.get("a", default="gone"), "gone")
        m.put("d", 4, 10, expires=400, now=250)  # b and c are at the front: b expired
        self.assertEqual(list(m.entries), ["c", "d"])
        self.assertEqual(m.bytes, 20)


class OutageCacheBoundTests(unittest.SynchronousTestCase):
    """What the outage cache keeps: only what can serve in an outage, for as long as it can."""

    def setUp(self):
        self.clock = Clock()
        self.backend = FlakyStore()
        self.cache = OutageCache(self.backend, self.clock, timeout=1.0, size=3)

    def bind(self, n, now=NOW):
        mac = "02:00:00:00:09:%02x" % n
        self.successResultOf(self.cache.lookup(["mac:" + mac], now, "192.0.2.1", CommitIntent(
            mac, "192.0.2.%d" % (100 + n), state="SELECTING")))
        return mac

    def test_a_flood_of_clients_without_a_lease_leaves_nothing(self):
        for n in range(100):
            mac = "02:00:00:00:0a:%02x" % n
            self.successResultOf(self.cache.lookup(["mac:" + mac], NOW, "192.0.2.1",
                                                   OfferIntent(mac)))
        self.assertEqual((len(self.cache._answers), len(self.cache._leases)), (0, 0))

    def test_the_least_recently_seen_go_first(self):
        macs = [self.bind(n) for n in range(3)]
        self.successResultOf(self.cache.lookup(["mac:" + macs[0]], NOW, "192.0.2.1",
                                               OfferIntent(macs[0])))
        self.bind(3)  # the fourth pushes out the least recently seen: the second
        self.backend.down = True
        for mac, served in zip(macs, (True, False, True)):
            d = self.cache.lookup(["mac:" + mac], NOW, "192.0.2.1", OfferIntent(mac))
            if served:
                self.assertIsInstance(self.successResultOf(d).allocation, Offered)
            else:
                self.failureResultOf(d, StoreUnavailable)

    def test_a_lease_is_kept_until_it_ends_and_a_release_ends_it(self):
        mac = self.bind(1)
        self.assertIn("mac:" + mac, self.cache._answers)
        self.successResultOf(self.cache.release(mac, "192.0.2.101", NOW))
        self.assertEqual((len(self.cache._answers), len(self.cache._leases)), (0, 0))
        self.bind(2)
        later = self.bind(3, now=NOW + 700)  # after the first lease ended (600 s): it goes
        self.assertEqual(list(self.cache._leases.entries), [later])
        self.assertEqual(list(self.cache._answers.entries), ["mac:" + later])

    def test_a_reserved_hosts_answer_lasts_the_ttl(self):
        self.cache.answer_ttl = 3600
        self.successResultOf(self.cache.lookup(RESERVED, NOW, "192.0.2.1"))
        self.backend.down = True
        self.successResultOf(self.cache.lookup(RESERVED, NOW + 3599, "192.0.2.1"))
        self.failureResultOf(self.cache.lookup(RESERVED, NOW + 3600, "192.0.2.1"),
                             StoreUnavailable)

    def test_bytes_are_capped_too(self):
        cache = OutageCache(self.backend, self.clock, size=1000, max_bytes=4000)
        for n in range(50):
            keys = ["client:" + "%02x" % n * 200, "mac:02:00:00:00:0c:%02x" % n]
            self.successResultOf(cache.lookup(keys, NOW, "192.0.2.1", CommitIntent(
                keys[1][4:], "192.0.2.100", state="SELECTING")))
        self.assertLessEqual(cache._answers.bytes, 4000)
        self.assertEqual(len(cache._answers), 6)  # 600 bytes each with the entry's overhead
