"""InventoryCache: known hosts without a store round trip, and every change seen at once."""

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial import unittest

from apidhcpd.inventory.allocation import SubnetIndex
from apidhcpd.store.contract import CommitIntent, Holds, Offered, OfferIntent
from apidhcpd.store.inventorycache import InventoryCache
from apidhcpd.store.memory import MemoryStore
from tests.redisserver import RedisTestMixin
from tests.stores import connected_store, sleep

NOW = 1_000_000
HOST = ["client:01020000000901", "mac:02:00:00:00:09:01"]
OTHER = ["mac:02:00:00:00:09:02"]


class CountingStore(MemoryStore):
    """MemoryStore that counts lookups and can stop its change stream."""

    def __init__(self):
        super().__init__()
        self.lookups = 0
        self.touched = []

    def connect(self):
        pass

    def disconnect(self):
        return defer.succeed(None)

    def lookup(self, *args, **kwargs):
        self.lookups += 1
        return super().lookup(*args, **kwargs)

    def watch(self, changed, watching):
        self.watching = watching
        super().watch(changed, watching)

    def touch(self, keys, now):
        self.touched.extend(keys)
        return super().touch(keys, now)


class InventoryCacheTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.clock.advance(NOW)
        self.store = CountingStore()
        self.store.hset("group:default", gateway="192.0.2.1", prefix="24", lease_time="1h")
        self.store.hset("group:pool", range="192.0.2.100-192.0.2.200")
        self.store.hset("mac:02:00:00:00:09:01", ip="192.0.2.10", group="lab")
        self.store.hset("group:lab", domain="lab.test")
        self.store.hset("subnet:198.51.100.0/24", group="lab", range="198.51.100.10-198.51.100.20")
        self.cache = InventoryCache(self.store, self.clock, ttl=60)
        self.cache.connect()
        self.addCleanup(self.cache.disconnect)

    def lookup(self, keys=HOST, selector="192.0.2.1", intent=None):
        return self.successResultOf(self.cache.lookup(keys, NOW, selector, intent))

    def test_a_known_host_is_answered_without_the_store(self):
        first = self.lookup()
        second = self.lookup()
        self.assertEqual(self.store.lookups, 1)
        self.assertEqual(second.host.reserved_ip, "192.0.2.10")
        self.assertEqual((second.group_name, second.group_fields), ("lab", {"domain": "lab.test"}))
        self.assertEqual(second.default_fields, first.default_fields)
        self.assertEqual(self.cache.cache_stats["hits"], 1)

    def test_a_change_through_put_is_seen_by_the_next_lookup(self):
        self.lookup()
        self.successResultOf(self.store.put("mac:02:00:00:00:09:01", {"ip": "192.0.2.11"}))
        self.assertEqual(self.lookup().host.reserved_ip, "192.0.2.11")
        self.assertEqual(self.store.lookups, 2)

    def test_a_new_host_under_a_key_known_to_be_absent_is_seen(self):
        self.assertIsNone(self.lookup(OTHER).host)
        self.assertIsNone(self.lookup(OTHER).host)
        self.successResultOf(self.store.put(OTHER[0], {"ip": "192.0.2.12"}))
        self.assertEqual(self.lookup(OTHER).host.reserved_ip, "192.0.2.12")

    def test_group_and_subnet_changes_are_seen(self):
        self.lookup()
        self.successResultOf(self.store.put("group:lab", {"domain": "new.test"}))
        self.assertEqual(self.lookup().group_fields, {"domain": "new.test"})
        self.successResultOf(self.store.put("subnet:192.0.2.0/24", {"group": "lab"}))
        found = self.lookup(OTHER)
        self.assertEqual((found.subnet, found.group_name), ("192.0.2.0/24", "lab"))

    def test_the_subnet_is_matched_as_the_store_matches_it(self):
        for selector, subnet in (("198.51.100.7", "198.51.100.0/24"), ("203.0.113.1", None)):
            self.lookup(OTHER, selector)
            cached = self.lookup(OTHER, selector)
            direct = self.successResultOf(self.store.lookup(OTHER, NOW, selector))
            self.assertEqual((cached.subnet, cached.group_name, cached.subnet_fields),
                             (subnet, direct.group_name, direct.subnet_fields))

    def test_entries_expire_after_the_ttl(self):
        self.lookup()
        self.store.data["mac:02:00:00:00:09:01"]["ip"] = "192.0.2.13"  # redis-cli, unpublished
        self.assertEqual(self.lookup().host.reserved_ip, "192.0.2.10")
        self.clock.advance(61)
        self.assertEqual(self.lookup().host.reserved_ip, "192.0.2.13")

    def test_without_the_change_stream_every_lookup_goes_to_the_store(self):
        self.lookup()
        self.store.watching(False)
        self.lookup()
        self.lookup()
        self.assertEqual(self.store.lookups, 3)
        self.store.watching(True)  # what was missed meanwhile is forgotten
        self.lookup()
        self.lookup()
        self.assertEqual(self.store.lookups, 4)

    def test_a_lease_record_answers_like_no_host_and_the_store_still_allocates(self):
        intent = OfferIntent("02:00:00:00:09:02", hold=60)
        self.lookup(OTHER, intent=intent)
        self.successResultOf(self.store.commit("02:00:00:00:09:02", "192.0.2.100", _pool(),
                                               3600, NOW))  # writes the mac: lease record
        again = self.lookup(OTHER, intent=intent)
        self.assertEqual(self.store.lookups, 1)
        self.assertIsNone(again.host)
        self.assertEqual(again.allocation, Offered("192.0.2.100"))  # its own lease
        renew = self.lookup(OTHER, intent=CommitIntent("02:00:00:00:09:02", "192.0.2.101",
                                                 state="RENEWING"))
        self.assertEqual(renew.allocation, Holds("192.0.2.100"))
        self.assertEqual(self.store.lookups, 1)

    def test_answers_from_memory_write_ts_in_batches(self):
        self.lookup()
        self.lookup()
        self.lookup(OTHER)
        self.clock.advance(1)
        self.assertEqual(self.store.touched, ["mac:02:00:00:00:09:01"])

    def test_a_lookup_that_raced_a_change_is_not_remembered(self):
        slow = defer.Deferred()
        self.store.lookup = lambda *args, **kwargs: slow
        pending = self.cache.lookup(OTHER, NOW, "192.0.2.1")
        self.successResultOf(self.store.put(OTHER[0], {"ip": "192.0.2.14"}))
        slow.callback(self.successResultOf(MemoryStore().lookup(OTHER, NOW, "192.0.2.1")))
        self.successResultOf(pending)
        del self.store.lookup
        self.assertEqual(self.lookup(OTHER).host.reserved_ip, "192.0.2.14")


class InventoryCacheBoundTests(unittest.SynchronousTestCase):
    """The answers kept are capped in entries and bytes, least recently used first: a flood
    of made-up clients neither flushes the whole cache nor leaves its keys behind."""

    def setUp(self):
        self.clock = Clock()
        self.clock.advance(NOW)
        self.store = CountingStore()
        self.store.hset("group:default", gateway="192.0.2.1", prefix="24")
        self.store.hset("mac:02:00:00:00:09:01", ip="192.0.2.10")
        self.cache = InventoryCache(self.store, self.clock, ttl=60, size=10, max_bytes=10_000)
        self.made_up = 0
        self.cache.connect()
        self.addCleanup(self.cache.disconnect)

    def lookup(self, keys):
        return self.successResultOf(self.cache.lookup(keys, NOW, "192.0.2.1"))

    def flood(self, count, big=False):
        for n in range(self.made_up, self.made_up + count):
            keys = ["mac:02:00:00:01:%02x:%02x" % (n // 256, n % 256)]
            if big:
                keys.insert(0, "client:%04x" % n + "ff" * 500)
            self.lookup(keys)
        self.made_up += count

    def test_a_host_in_use_survives_a_flood_and_nothing_is_left_behind(self):
        self.lookup(HOST)
        for _ in range(5):
            self.flood(5)
            self.lookup(HOST)  # used between every five made-up clients
        self.assertEqual(self.store.lookups, 1 + 25)  # the host was read once: kept in memory
        self.assertEqual(len(self.cache._hosts), 10)
        held = {key for keys in self.cache._hosts.entries for key in keys}
        self.assertEqual(set(self.cache._by_key), held)  # the index holds what is kept

    def test_bytes_are_capped(self):
        self.flood(40, big=True)
        self.assertLessEqual(self.cache._hosts.bytes, 10_000)
        self.assertLess(len(self.cache._hosts), 10)  # the bytes bind first here
        held = {key for keys in self.cache._hosts.entries for key in keys}
        self.assertEqual(set(self.cache._by_key), held)

    def test_a_change_leaves_no_key_behind(self):
        self.lookup(HOST)
        self.successResultOf(self.store.put(HOST[1], {"ip": "192.0.2.11"}))
        self.assertEqual((len(self.cache._hosts), self.cache._by_key), (0, {}))

    def test_the_ts_batch_is_capped(self):
        for n in range(20):
            self.store.hset("mac:02:00:00:02:00:%02x" % n, ip="192.0.2.%d" % (20 + n))
            self.lookup(["mac:02:00:00:02:00:%02x" % n])
            self.lookup(["mac:02:00:00:02:00:%02x" % n])  # from memory: ts to write
        self.assertEqual(len(self.cache._seen), 10)


def _pool():
    from apidhcpd.inventory.allocation import parse_ranges
    from apidhcpd.store.contract import AddressSource
    return AddressSource("pool", parse_ranges("192.0.2.100-192.0.2.200"), seed_pool=True)


class SubnetIndexTests(unittest.SynchronousTestCase):
    def test_the_longest_prefix_wins_and_odd_keys_are_ignored(self):
        index = SubnetIndex({"10.0.0.0/8": {}, "10.1.0.0/16": {}, "10.1.2.3/16": {},
                             "bad": {}, "0.0.0.0/0": {}})
        self.assertEqual(index.match("10.1.2.3"), "10.1.0.0/16")
        self.assertEqual(index.match("10.2.0.1"), "10.0.0.0/8")
        self.assertEqual(index.match("192.0.2.1"), "0.0.0.0/0")
        self.assertEqual(SubnetIndex({}).match("192.0.2.1"), "")


class RedisChangeStreamTests(RedisTestMixin, unittest.TestCase):
    """The real thing: put.lua publishes, another connection's watch() hears it."""

    timeout = 20

    @defer.inlineCallbacks
    def test_a_put_on_one_store_reaches_the_watcher_of_another(self):
        writer = yield connected_store(self, self.redis)
        reader = yield connected_store(self, self.redis)
        heard, states = [], []
        reader.watch(heard.append, states.append)
        for _ in range(250):
            if states:
                break
            yield sleep(0.02)
        self.assertEqual(states, [True])
        yield writer.put("mac:02:00:00:00:09:03", {"ip": "192.0.2.15"})
        for _ in range(250):
            if heard:
                break
            yield sleep(0.02)
        self.assertEqual(heard, ["mac:02:00:00:00:09:03"])
        self.redis.cli("CLIENT", "KILL", "TYPE", "pubsub")
        for _ in range(250):
            if len(states) >= 3:
                break
            yield sleep(0.02)
        self.assertEqual(states[:3], [True, False, True])  # lost, then subscribed again

    @defer.inlineCallbacks
    def test_a_known_subnet_spares_the_search_and_the_fields_the_caller_has(self):
        store = yield connected_store(self, self.redis)
        yield store.put("group:default", {"gateway": "192.0.2.1"})
        yield store.put("subnet:198.51.100.0/24", {"range": "198.51.100.10-198.51.100.20"})
        searched = yield store.lookup(OTHER, NOW, "198.51.100.1")
        told = yield store.lookup(OTHER, NOW, "198.51.100.1", subnet="198.51.100.0/24")
        none = yield store.lookup(OTHER, NOW, "198.51.100.1", subnet="")
        self.assertEqual((searched.subnet, searched.subnet_fields),
                         ("198.51.100.0/24", {"range": "198.51.100.10-198.51.100.20"}))
        self.assertEqual(searched.default_fields, {"gateway": "192.0.2.1"})
        # the caller knows the groups and subnets: the reply leaves their fields out
        self.assertEqual((told.subnet, told.subnet_fields, told.default_fields),
                         ("198.51.100.0/24", {}, {}))
        self.assertEqual((none.subnet, none.subnet_fields), (None, {}))

    @defer.inlineCallbacks
    def test_touch_writes_ts_only_on_hosts_that_exist(self):
        store = yield connected_store(self, self.redis)
        yield store.put("mac:02:00:00:00:09:04", {"ip": "192.0.2.16"})
        yield store.touch(["mac:02:00:00:00:09:04", "mac:02:00:00:00:09:05"], NOW)
        self.assertEqual(self.redis.cli("HGET", "mac:02:00:00:00:09:04", "ts").strip(),
                         str(NOW))
        self.assertEqual(self.redis.cli("EXISTS", "mac:02:00:00:00:09:05").strip(), "0")
