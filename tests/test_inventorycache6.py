"""InventoryCache for DHCPv6: lookup6 of a known client costs no store round trip, answers as
the store does (host, group, subnet6:, classes), and sees every change at once."""

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial import unittest

from apidhcpd.inventory import allocation6
from apidhcpd.inventory.allocation6 import SubnetIndex6
from apidhcpd.store.contract6 import IStore6
from apidhcpd.store.inventorycache import InventoryCache
from tests.redisserver import RedisTestMixin
from tests.stores import connected_store, sleep
from tests.test_inventorycache import CountingStore

NOW = 1_000_000
DUID = "00030001020000000a01"
HOST = ["duid:" + DUID, "mac:02:00:00:00:0a:01"]
BY_MAC = ["duid:00030001020000000a02", "mac:02:00:00:00:0a:02"]
DYNAMIC = ["duid:00030001020000000a03", "mac:02:00:00:00:0a:03"]
LEASE_RECORD = ["duid:00030001020000000a04", "mac:02:00:00:00:0a:04"]
GROUPED = ["duid:00030001020000000a05", "mac:02:00:00:00:0a:05"]
ON_LINK = "2001:db8:1::1"
RELAYED = "2001:db8:2:1::1"  # in the /48, not the /64


class CountingStore6(CountingStore):
    """CountingStore that counts lookup6 calls too."""

    def __init__(self):
        super().__init__()
        self.lookups6 = 0

    def lookup6(self, *args, **kwargs):
        self.lookups6 += 1
        return super().lookup6(*args, **kwargs)


def inventory(store):
    store.put("group:default", {"dns6": "2001:db8::53", "lease-time": "1h"})
    store.put("group:pool", {"domain": "pool.test"})
    store.put("group:lab", {"domain": "lab.test"})
    store.put("group:v6", {"ntp6": "2001:db8::123"})
    store.put("subnet6:2001:db8:1::/64", {"range": "2001:db8:1::100-2001:db8:1::1ff"})
    store.put("subnet6:2001:db8:2::/48", {"range": "2001:db8:2::100-2001:db8:2::1ff",
                                          "group": "v6"})
    store.put("subnet6:2001:db8:2::/64", {"range": "2001:db8:2::200-2001:db8:2::2ff",
                                          "group": "missing"})
    store.put("class:printers", {"match": "vendor-class contains print", "dns6": "2001:db8::54"})
    store.put(HOST[0], {"ip6": "2001:db8:1::10", "hostname": "printer"})
    store.put(BY_MAC[1], {"ip": "192.0.2.10"})  # an IPv4 reservation: group default
    store.put(GROUPED[1], {"group": "lab"})
    store.put(LEASE_RECORD[1], {"ip": "192.0.2.100", "dynamic": "1", "ts": "1"})


class InventoryCache6Tests(unittest.SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.clock.advance(NOW)
        self.store = CountingStore6()
        inventory(self.store)
        self.cache = InventoryCache(self.store, self.clock, ttl=60)
        self.cache.connect()
        self.addCleanup(self.cache.disconnect)

    def lookup6(self, keys=HOST, selector=ON_LINK):
        return self.successResultOf(self.cache.lookup6(keys, NOW, selector))

    def direct(self, keys=HOST, selector=ON_LINK):
        return self.successResultOf(self.store.lookup6(keys, NOW, selector))

    def test_it_provides_istore6_when_the_store_does(self):
        self.assertTrue(IStore6.providedBy(self.cache))

    def test_a_known_client_is_answered_without_the_store(self):
        self.lookup6()
        second = self.lookup6()
        self.assertEqual(self.store.lookups6, 1)
        self.assertEqual((second.host.key, second.host.fields["ip6"]),
                         (HOST[0], "2001:db8:1::10"))
        self.assertEqual((second.subnet, second.group_name), ("2001:db8:1::/64", "default"))
        stats = self.cache.cache_stats
        self.assertEqual((stats["hits6"], stats["misses6"], stats["hits"], stats["misses"]),
                         (1, 1, 1, 1))

    def test_answers_from_memory_are_the_stores_answers(self):
        for keys in (HOST, BY_MAC, DYNAMIC, LEASE_RECORD, GROUPED):
            for selector in (ON_LINK, RELAYED, "2001:db8:2::7", "2001:db8:9::1", "::"):
                self.lookup6(keys, selector)  # remembered
                cached, direct = self.lookup6(keys, selector), self.direct(keys, selector)
                self.assertEqual(
                    (cached.group_name, cached.group_fields, cached.default_fields,
                     cached.subnet, cached.subnet_fields, cached.classes),
                    (direct.group_name, direct.group_fields, direct.default_fields,
                     direct.subnet, direct.subnet_fields, direct.classes), (keys, selector))
                if keys is LEASE_RECORD:  # a dynamic IPv4 lease record: no host, as DHCPv4
                    self.assertIsNone(cached.host)
                    self.assertEqual(direct.host.key, LEASE_RECORD[1])
                else:
                    self.assertEqual(cached.host and cached.host.key,
                                     direct.host and direct.host.key)
        # one store lookup6 per set of keys, whatever the selector: the rest from memory
        stats = self.cache.cache_stats
        self.assertEqual((stats["misses6"], stats["hits6"]), (5, 45))

    def test_group_choice_follows_lookup6(self):
        found = {tuple(k): self.lookup6(k, RELAYED).group_name
                 for k in (HOST, BY_MAC, DYNAMIC, GROUPED)}
        self.assertEqual(found, {tuple(HOST): "default", tuple(BY_MAC): "default",
                                 tuple(DYNAMIC): "v6", tuple(GROUPED): "lab"})
        self.assertEqual(self.lookup6(DYNAMIC, "2001:db8:2::7").group_name, "default")

    def test_host_changes_through_put_are_seen_by_the_next_lookup(self):
        self.lookup6()
        self.successResultOf(self.store.put(HOST[0], {"ip6": "2001:db8:1::11"}))
        self.assertEqual(self.lookup6().host.fields["ip6"], "2001:db8:1::11")
        self.assertIsNone(self.lookup6(DYNAMIC).host)
        self.successResultOf(self.store.put(DYNAMIC[1], {"ip6": "2001:db8:1::12"}))
        self.assertEqual(self.lookup6(DYNAMIC).host.key, DYNAMIC[1])

    def test_subnet6_and_group_changes_are_seen(self):
        self.lookup6(DYNAMIC, "2001:db8:3::1")
        self.assertIsNone(self.lookup6(DYNAMIC, "2001:db8:3::1").subnet)
        self.successResultOf(self.store.put("subnet6:2001:db8:3::/64", {"group": "lab"}))
        found = self.lookup6(DYNAMIC, "2001:db8:3::1")
        self.assertEqual((found.subnet, found.group_name, found.group_fields),
                         ("2001:db8:3::/64", "lab", {"domain": "lab.test"}))
        self.successResultOf(self.store.put("group:lab", {"domain": "new.test"}))
        self.assertEqual(self.lookup6(DYNAMIC, "2001:db8:3::1").group_fields,
                         {"domain": "new.test"})
        self.successResultOf(self.store.delete("subnet6:2001:db8:3::/64"))
        self.assertIsNone(self.lookup6(DYNAMIC, "2001:db8:3::1").subnet)
        self.assertEqual(self.store.lookups6, 1)

    def test_a_subnet6_outside_the_index_is_not_matched_as_by_the_store(self):
        self.store.hset("subnet6:2001:db8:4::/64", range="2001:db8:4::1-2001:db8:4::9")
        self.clock.advance(61)  # re-read after the TTL: still not in the index
        self.lookup6(DYNAMIC, "2001:db8:4::1")
        self.assertIsNone(self.lookup6(DYNAMIC, "2001:db8:4::1").subnet)
        self.assertIsNone(self.direct(DYNAMIC, "2001:db8:4::1").subnet)
        asked = self.store.lookups6
        self.successResultOf(self.store.refresh_reserved())  # the indexes' refresh finds it
        self.assertEqual(self.lookup6(DYNAMIC, "2001:db8:4::1").subnet, "2001:db8:4::/64")
        self.assertEqual(self.store.lookups6, asked)  # told at once: the refresh publishes it

    def test_entries_expire_after_the_ttl(self):
        self.lookup6()
        self.store.data[HOST[0]]["ip6"] = "2001:db8:1::13"  # redis-cli, unpublished
        self.assertEqual(self.lookup6().host.fields["ip6"], "2001:db8:1::10")
        self.clock.advance(61)
        self.assertEqual(self.lookup6().host.fields["ip6"], "2001:db8:1::13")

    def test_without_the_change_stream_every_lookup6_goes_to_the_store(self):
        self.lookup6()
        self.store.watching(False)
        self.lookup6()
        self.lookup6()
        self.assertEqual(self.store.lookups6, 3)
        self.store.watching(True)
        self.lookup6()
        self.lookup6()
        self.assertEqual(self.store.lookups6, 4)

    def test_answers_from_memory_write_ts_in_batches(self):
        self.lookup6()
        self.lookup6()
        self.clock.advance(1)
        self.assertEqual(self.store.touched, [HOST[0]])

    def test_both_families_share_what_a_set_of_keys_finds(self):
        keys = [BY_MAC[1]]
        self.successResultOf(self.cache.lookup(keys, NOW, "192.0.2.1"))
        found = self.lookup6(keys)
        self.assertEqual((self.store.lookups, self.store.lookups6), (1, 0))
        self.assertEqual(found.host.reserved_ip, "192.0.2.10")

    def test_allocation_passes_through(self):
        from apidhcpd.store.contract6 import IAKey
        source = allocation6.source6("2001:db8:1::/64", self.direct(DYNAMIC).subnet_fields,
                                     allocation6.NA)
        lease = self.successResultOf(self.cache.offer6(IAKey(DYNAMIC[0][5:], 1), source, (),
                                                       NOW, 60))
        self.assertEqual(lease.value, "2001:db8:1::100")
        self.assertEqual(self.store.leases6[lease.value].state, "offered")


class SubnetIndex6Tests(unittest.SynchronousTestCase):
    def test_the_index_matches_as_longest_match6(self):
        networks = ["2001:db8::/32", "2001:db8:1::/48", "2001:db8:1::/64",
                    "2001:db8:1:0:8000::/65", "2001:DB8:2::/64", "2001:db8:3::1/64", "::/0", "bad"]
        index = SubnetIndex6(dict.fromkeys(networks))
        for address in ("2001:db8:1::1", "2001:db8:1:0:8000::1", "2001:db8:1:1::1",
                        "2001:db8:2::1", "2001:db8:3::1", "2001:db9::1", "::", "192.0.2.1", "x"):
            self.assertEqual(index.match(address) or None,
                             allocation6.longest_match6(address, networks), address)
        self.assertEqual(index.match("2001:db8:1::1"), "2001:db8:1::/64")
        self.assertEqual(SubnetIndex6({}).match("2001:db8::1"), "")


class RedisInventoryCache6Tests(RedisTestMixin, unittest.TestCase):
    """Over a real Redis: networks6 reads the index, and a known client's lookup6 costs no
    round trip."""

    timeout = 20

    @defer.inlineCallbacks
    def test_lookup6_from_memory_over_redis(self):
        from twisted.internet import reactor
        store = yield connected_store(self, self.redis)
        yield store.put("group:default", {"dns6": "2001:db8::53"})
        yield store.put("subnet6:2001:db8:1::/64", {"range": "2001:db8:1::100-2001:db8:1::1ff"})
        yield store.put(HOST[0], {"ip6": "2001:db8:1::10"})
        self.redis.cli("HSET", "subnet6:2001:db8:5::/64", "range", "2001:db8:5::1")  # no index
        networks = yield store.networks6()
        self.assertEqual(networks, {"2001:db8:1::/64": {
            "range": "2001:db8:1::100-2001:db8:1::1ff"}})
        calls = []
        real = store.lookup6
        store.lookup6 = lambda *a: calls.append(a) or real(*a)
        cache = InventoryCache(store, reactor, ttl=60)
        store.watch(cache._changed, cache._watch_state)
        for _ in range(250):
            if cache._groups is not None:
                break
            yield sleep(0.02)
        first = yield cache.lookup6(HOST, NOW, ON_LINK)
        second = yield cache.lookup6(HOST, NOW, ON_LINK)
        self.assertEqual(len(calls), 1)
        self.assertEqual((second.host.fields["ip6"], second.subnet, second.subnet_fields),
                         ("2001:db8:1::10", first.subnet, first.subnet_fields))
        yield store.put(HOST[0], {"ip6": "2001:db8:1::11"})  # published: the next one reads
        for _ in range(250):
            if HOST[0] not in cache._by_key:
                break
            yield sleep(0.02)
        third = yield cache.lookup6(HOST, NOW, ON_LINK)
        self.assertEqual((len(calls), third.host.fields["ip6"]), (2, "2001:db8:1::11"))
        # a subnet6: written with redis-cli joins the index at the refresh, which says so
        heard = cache.cache_stats["invalidations"]
        yield store.refresh_reserved()
        for _ in range(250):
            if cache._subnets6.match("2001:db8:5::1"):
                break
            yield sleep(0.02)
        found = yield cache.lookup6(HOST, NOW, "2001:db8:5::1")
        self.assertEqual((len(calls), found.subnet), (2, "2001:db8:5::/64"))
        self.assertEqual(cache.cache_stats["invalidations"], heard + 1)
