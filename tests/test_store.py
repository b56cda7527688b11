"""The store contract: the same tests against MemoryStore and against a real redis-server."""

import os

from twisted.internet import defer, reactor
from twisted.trial import unittest
from zope.interface.verify import verifyObject

from apidhcpd.inventory import allocation, rules
from apidhcpd.inventory.durations import parse_duration
from apidhcpd.store.contract import (
    AddressSource,
    Bound,
    CommitIntent,
    Conflict,
    Holds,
    IAdmin,
    ICacheable,
    IStore,
    Offered,
    OfferIntent,
    Refused,
    StoreUnavailable,
)
from apidhcpd.store.contract6 import ICacheable6, IStore6
from apidhcpd.store.inventorycache import InventoryCache
from apidhcpd.store.memory import MemoryStore
from apidhcpd.store.redis import RedisStore, RedisURL
from tests.redisserver import shared_redis
from tests.stores import connected_store, sleep

A, B, C = "02:00:00:00:00:0a", "02:00:00:00:00:0b", "02:00:00:00:00:0c"
RANGE = AddressSource("lan", allocation.parse_ranges("192.0.2.10-192.0.2.12"))
SEED_POOL = AddressSource("pool", (), seed_pool=True)
NOW = 1_000_000
LOCAL = "192.0.2.1"


class ContractMixin:
    """Each test seeds hashes with self.hset and exercises self.store."""

    @defer.inlineCallbacks
    def test_lookup_prefers_client_id_then_mac_and_writes_ts(self):
        self.hset("client:01020000000a0a", ip="192.0.2.5", group="lab")
        self.hset("mac:" + A, ip="192.0.2.6")
        self.hset("group:lab", dns="192.0.2.53")
        self.hset("group:default", dns="192.0.2.1")
        found = yield self.store.lookup(["client:01020000000a0a", "mac:" + A], NOW, LOCAL)
        self.assertEqual(found.host.key, "client:01020000000a0a")
        self.assertEqual((found.group_name, found.group_fields), ("lab", {"dns": "192.0.2.53"}))
        self.assertEqual(found.default_fields, {"dns": "192.0.2.1"})
        found = yield self.store.lookup(["client:unknown-id", "mac:" + A], NOW + 5, LOCAL)
        self.assertEqual((found.host.key, found.host.reserved_ip), ("mac:" + A, "192.0.2.6"))
        self.assertEqual(found.host.fields["ts"], str(NOW + 5))
        self.assertEqual(self.hget("mac:" + A, "ts"), str(NOW + 5))

    @defer.inlineCallbacks
    def test_unknown_client_gets_pool_group_or_default(self):
        self.hset("group:default", dns="192.0.2.1")
        found = yield self.store.lookup(["mac:" + A], NOW, LOCAL)
        self.assertIsNone(found.host)
        self.assertEqual(found.group_name, "default")
        self.hset("group:pool", dns="192.0.2.2")
        found = yield self.store.lookup(["mac:" + A], NOW, LOCAL)
        self.assertEqual((found.group_name, found.group_fields), ("pool", {"dns": "192.0.2.2"}))

    @defer.inlineCallbacks
    def test_missing_group_falls_back_to_default(self):
        self.hset("mac:" + A, ip="192.0.2.6", group="nosuch")
        self.hset("group:default", dns="192.0.2.1")
        found = yield self.store.lookup(["mac:" + A], NOW, LOCAL)
        self.assertEqual(found.group_name, "default")

    @defer.inlineCallbacks
    def test_a_dynamic_lease_record_yields_to_a_port_reservation(self):
        self.hset("mac:" + A, ip="192.0.2.100", dynamic="1")
        self.hset("relay:switch1/port7", ip="192.0.2.7")
        found = yield self.store.lookup(["mac:" + A, "relay:switch1/port7"], NOW, LOCAL)
        self.assertEqual((found.host.key, found.host.reserved_ip),
                         ("relay:switch1/port7", "192.0.2.7"))
        found = yield self.store.lookup(["mac:" + A, "relay:other"], NOW, LOCAL)
        self.assertEqual(found.host.key, "mac:" + A)

    @defer.inlineCallbacks
    def test_longest_subnet_holding_the_selector_and_its_group(self):
        self.hset("subnet:198.51.100.0/24", range="198.51.100.10-198.51.100.20")
        self.hset("subnet:198.51.100.128/25", group="lab")
        self.hset("group:lab", dns="198.51.100.53")
        self.hset("group:default", dns="192.0.2.1")
        found = yield self.store.lookup(["mac:" + A], NOW, "198.51.100.1")
        self.assertEqual((found.subnet, found.group_name), ("198.51.100.0/24", "default"))
        self.assertEqual(found.subnet_fields, {"range": "198.51.100.10-198.51.100.20"})
        found = yield self.store.lookup(["mac:" + A], NOW, "198.51.100.200")
        self.assertEqual((found.subnet, found.group_name), ("198.51.100.128/25", "lab"))
        found = yield self.store.lookup(["mac:" + A], NOW, "203.0.113.1")
        self.assertEqual((found.subnet, found.subnet_fields), (None, {}))

    @defer.inlineCallbacks
    def test_commit_writes_what_the_seed_wrote_on_the_mac_record(self):
        yield self.store.commit(A, "192.0.2.10", RANGE, 3600, NOW, client="anna-pc")
        self.assertEqual((self.hget("mac:" + A, "ip"), self.hget("mac:" + A, "dynamic"),
                          self.hget("mac:" + A, "ts"), self.hget("mac:" + A, "description")),
                         ("192.0.2.10", "1", str(NOW), "dynamic:anna-pc"))
        self.hset("mac:" + B, description="Bob's laptop")
        yield self.store.commit(B, "192.0.2.11", RANGE, 3600, NOW)
        self.assertEqual(self.hget("mac:" + B, "description"), "Bob's laptop")
        # a record the server wrote is still a lease record: it hides no port reservation
        yield self.store.release(A, "192.0.2.10", NOW)
        self.hset("relay:switch1/port7", ip="192.0.2.7")
        found = yield self.store.lookup(["mac:" + A, "relay:switch1/port7"], NOW, LOCAL)
        self.assertEqual(found.host.key, "relay:switch1/port7")

    @defer.inlineCallbacks
    def test_commit_keeps_the_relay_information(self):
        lease = yield self.store.commit(A, "192.0.2.10", RANGE, 3600, NOW, relay=b"\x01\x02ab")
        self.assertEqual(lease.relay, "01026162")

    @defer.inlineCallbacks
    def test_offers_are_distinct_held_and_sticky(self):
        a = yield self.store.offer(A, RANGE, None, NOW, 60)
        b = yield self.store.offer(B, RANGE, None, NOW, 60)
        again = yield self.store.offer(A, RANGE, None, NOW + 1, 60)
        self.assertNotEqual(a, b)
        self.assertEqual(a, again)
        self.assertTrue(allocation.in_ranges(a, RANGE.ranges))

    @defer.inlineCallbacks
    def test_requested_address_is_offered_when_free(self):
        got = yield self.store.offer(A, RANGE, "192.0.2.12", NOW, 60)
        self.assertEqual(got, "192.0.2.12")
        other = yield self.store.offer(B, RANGE, "192.0.2.12", NOW, 60)
        self.assertNotEqual(other, "192.0.2.12")

    @defer.inlineCallbacks
    def test_exhausted_range_offers_nothing_until_holds_expire(self):
        for mac in (A, B, C):
            self.assertIsNotNone((yield self.store.offer(mac, RANGE, None, NOW, 60)))
        self.assertIsNone((yield self.store.offer("02:00:00:00:00:0d", RANGE, None, NOW, 60)))
        late = yield self.store.offer("02:00:00:00:00:0d", RANGE, None, NOW + 61, 60)
        self.assertIsNotNone(late)

    @defer.inlineCallbacks
    def test_a_full_pool_is_not_searched_again_until_an_address_is_freed(self):
        D = "02:00:00:00:00:0d"
        for mac in (A, B, C):
            yield self.store.commit(mac, (yield self.store.offer(mac, RANGE, None, NOW, 60)),
                                    RANGE, 3600, NOW)
        self.assertIsNone((yield self.store.offer(D, RANGE, None, NOW, 60)))
        # freed behind the store's back: the pool still counts as full for a minute
        self.free_behind_the_stores_back("192.0.2.10")
        self.assertIsNone((yield self.store.offer(D, RANGE, None, NOW + 59, 60)))
        self.assertEqual((yield self.store.offer(D, RANGE, None, NOW + 61, 60)), "192.0.2.10")
        # a release frees an address at once
        self.assertIsNone((yield self.store.offer("02:00:00:00:00:0e", RANGE, None, NOW + 61,
                                                  60)))
        self.assertTrue((yield self.store.release(B, "192.0.2.11", NOW + 61)))
        self.assertEqual((yield self.store.offer("02:00:00:00:00:0e", RANGE, None, NOW + 61,
                                                 60)), "192.0.2.11")

    @defer.inlineCallbacks
    def test_taking_an_expired_lease_clears_the_old_holders_record(self):
        yield self.store.commit(A, "192.0.2.10", RANGE, 60, NOW)
        # A's lease expired and was not reclaimed yet; B takes the address
        yield self.store.commit(B, "192.0.2.10", RANGE, 3600, NOW + 61)
        self.assertIsNone(self.hget("mac:" + A, "ip"))
        self.assertIsNone(self.hget("mac:" + A, "dynamic"))
        self.assertEqual(self.hget("mac:" + B, "ip"), "192.0.2.10")
        self.assertIsNone((yield self.store.lease_of(A, NOW + 62)))
        # and through a DISCOVER first: B's lease expires, C is offered the address
        offered = yield self.store.offer(C, RANGE, "192.0.2.10", NOW + 3700, 60)
        self.assertEqual(offered, "192.0.2.10")
        self.assertIsNone(self.hget("mac:" + B, "ip"))

    @defer.inlineCallbacks
    def test_reserved_addresses_are_never_offered(self):
        self.hset("mac:" + C, ip="192.0.2.10")
        self.hset("mac:" + B, ip="192.0.2.11")
        yield self.store.refresh_reserved()
        got = yield self.store.offer(A, RANGE, "192.0.2.10", NOW, 60)
        self.assertEqual(got, "192.0.2.12")

    @defer.inlineCallbacks
    def test_commit_binds_and_lease_of_finds_it(self):
        ip = yield self.store.offer(A, RANGE, None, NOW, 60)
        lease = yield self.store.commit(A, ip, RANGE, 3600, NOW)
        self.assertEqual((lease.ip, lease.mac, lease.state, lease.expires),
                         (ip, A, "bound", NOW + 3600))
        found = yield self.store.lease_of(A, NOW + 10)
        self.assertEqual(found.ip, ip)
        self.assertEqual(self.hget("mac:" + A, "ip"), ip)
        self.assertTrue(self.hget("mac:" + A, "dynamic"))
        self.assertIsNone((yield self.store.lease_of(A, NOW + 3600)))

    @defer.inlineCallbacks
    def test_commit_refuses_taken_and_outside_addresses(self):
        yield self.store.commit(A, "192.0.2.10", RANGE, 3600, NOW)
        taken = yield self.assertFailure(self.store.commit(B, "192.0.2.10", RANGE, 3600, NOW),
                                         Conflict)
        self.assertTrue(taken.taken)
        outside = yield self.assertFailure(
            self.store.commit(B, "198.51.100.1", RANGE, 3600, NOW), Conflict)
        self.assertFalse(outside.taken)

    @defer.inlineCallbacks
    def test_existing_lease_is_sticky_and_moving_frees_the_old_one(self):
        yield self.store.commit(A, "192.0.2.11", RANGE, 3600, NOW)
        self.assertEqual((yield self.store.offer(A, RANGE, None, NOW + 5, 60)), "192.0.2.11")
        yield self.store.commit(A, "192.0.2.12", RANGE, 3600, NOW + 5)
        self.assertEqual((yield self.store.offer(B, RANGE, "192.0.2.11", NOW + 6, 60)),
                         "192.0.2.11")

    @defer.inlineCallbacks
    def test_release_frees_only_the_holders_lease(self):
        yield self.store.commit(A, "192.0.2.10", RANGE, 3600, NOW)
        self.assertFalse((yield self.store.release(B, "192.0.2.10", NOW)))
        self.assertTrue((yield self.store.release(A, "192.0.2.10", NOW)))
        self.assertIsNone(self.hget("mac:" + A, "ip"))
        self.assertIsNone((yield self.store.lease_of(A, NOW)))
        yield self.store.commit(B, "192.0.2.10", RANGE, 3600, NOW)

    @defer.inlineCallbacks
    def test_release_offer_frees_the_held_address(self):
        ip = yield self.store.offer(A, RANGE, None, NOW, 60)
        yield self.store.release_offer(A)
        self.assertEqual((yield self.store.offer(B, RANGE, ip, NOW, 60)), ip)

    @defer.inlineCallbacks
    def test_release_offer_keeps_the_address_the_client_asks_another_server_for(self):
        ip = yield self.store.offer(A, RANGE, None, NOW, 60)
        yield self.store.release_offer(A, keep=ip)  # a second server on this store offered it
        lease = yield self.store.commit(A, ip, RANGE, 3600, NOW, state="SELECTING")
        self.assertEqual(lease.ip, ip)

    @defer.inlineCallbacks
    def test_a_client_state_needs_a_record_of_the_client(self):
        for state in ("SELECTING", "INIT-REBOOT", "RENEWING"):
            with self.assertRaises(Conflict) as raised:
                yield self.store.commit(A, "192.0.2.11", RANGE, 3600, NOW, state=state)
            self.assertFalse(raised.exception.taken)
        yield self.store.offer(A, RANGE, "192.0.2.11", NOW, 60)
        lease = yield self.store.commit(A, "192.0.2.11", RANGE, 3600, NOW, state="SELECTING")
        self.assertEqual(lease.ip, "192.0.2.11")

    @defer.inlineCallbacks
    def test_decline_quarantines_until_probation_ends(self):
        yield self.store.commit(A, "192.0.2.10", RANGE, 3600, NOW)
        yield self.store.decline(A, "192.0.2.10", NOW, 300)
        self.assertIsNone((yield self.store.lease_of(A, NOW)))
        got = yield self.store.offer(A, RANGE, "192.0.2.10", NOW + 1, 60)
        self.assertNotEqual(got, "192.0.2.10")
        yield self.store.reclaim(NOW + 301)
        self.assertEqual((yield self.store.offer(B, RANGE, "192.0.2.10", NOW + 302, 60)),
                         "192.0.2.10")

    @defer.inlineCallbacks
    def test_reclaim_ends_expired_leases(self):
        yield self.store.commit(A, "192.0.2.10", RANGE, 100, NOW)
        yield self.store.commit(B, "192.0.2.11", RANGE, 1000, NOW)
        self.assertEqual((yield self.store.reclaim(NOW + 500)), 1)
        self.assertIsNone(self.hget("mac:" + A, "ip"))
        self.assertEqual(self.hget("mac:" + B, "ip"), "192.0.2.11")

    @defer.inlineCallbacks
    def test_seed_pool_hash_allocates_and_records_owner(self):
        self.hset("pool", **{"192.0.2.100": "", "192.0.2.101": B})  # B: the Go prototype's
        ip = yield self.store.offer(A, SEED_POOL, None, NOW, 60)
        self.assertEqual(ip, "192.0.2.100")
        yield self.store.commit(A, ip, SEED_POOL, 3600, NOW)
        self.assertEqual(self.hget("pool", ip), A)
        self.assertIsNone((yield self.store.offer(C, SEED_POOL, "192.0.2.101", NOW, 60)))
        yield self.store.release(A, ip, NOW)
        self.assertEqual(self.hget("pool", ip), "")

    @defer.inlineCallbacks
    def test_refresh_reserved_indexes_fixed_hosts_only(self):
        self.hset("mac:" + A, ip="192.0.2.10")
        self.hset("client:abc", ip="192.0.2.11")
        yield self.store.commit(B, "192.0.2.12", RANGE, 3600, NOW)
        self.assertEqual((yield self.store.refresh_reserved()), 2)


class AdminContractMixin:
    @defer.inlineCallbacks
    def test_put_get_hashes_and_delete(self):
        yield self.store.put("group:lab", {"dns": "192.0.2.53", "lease-time": "1h"})
        yield self.store.put("group:lab", {"ntp": "192.0.2.1"}, "merge")
        self.assertEqual((yield self.store.get("group:lab")),
                         {"dns": "192.0.2.53", "lease-time": "1h", "ntp": "192.0.2.1"})
        after = yield self.store.put("group:lab", ["ntp"], "remove")
        self.assertNotIn("ntp", after)
        yield self.store.put("group:default", {"dns": "192.0.2.1"})
        self.hset("mac:" + A, ip="192.0.2.10")
        self.assertEqual(sorted((yield self.store.hashes("group:"))),
                         ["group:default", "group:lab"])
        self.assertTrue((yield self.store.delete("group:lab")))
        self.assertFalse((yield self.store.delete("group:lab")))
        self.assertIsNone((yield self.store.get("group:lab")))

    @defer.inlineCallbacks
    def test_put_keeps_the_reserved_index_true(self):
        yield self.store.put("mac:" + A, {"ip": "192.0.2.10"})
        self.assertNotEqual((yield self.store.offer(B, RANGE, "192.0.2.10", NOW, 60)),
                            "192.0.2.10")
        yield self.store.put("mac:" + A, {"ip": "192.0.2.12"})
        yield self.store.delete("mac:" + A)
        yield self.store.release_offer(B)
        self.assertEqual((yield self.store.offer(C, RANGE, "192.0.2.10", NOW, 60)), "192.0.2.10")

    @defer.inlineCallbacks
    def test_leases_listed_in_expiry_order_and_ended_by_force(self):
        yield self.store.commit(A, "192.0.2.10", RANGE, 300, NOW)
        yield self.store.commit(B, "192.0.2.11", RANGE, 100, NOW)
        listed = yield self.store.leases()
        self.assertEqual([(lease.ip, lease.mac, lease.state, lease.expires) for lease in listed],
                         [("192.0.2.11", B, "bound", NOW + 100),
                          ("192.0.2.10", A, "bound", NOW + 300)])
        self.assertEqual(len((yield self.store.leases(1, 10))), 1)
        self.assertTrue((yield self.store.end_lease("192.0.2.10")))
        self.assertFalse((yield self.store.end_lease("192.0.2.10")))
        self.assertIsNone(self.hget("mac:" + A, "ip"))
        self.assertEqual(len((yield self.store.leases())), 1)


class MemoryStoreTests(ContractMixin, AdminContractMixin, unittest.TestCase):
    def setUp(self):
        self.store = MemoryStore()

    def hset(self, key, **fields):
        self.store.data.setdefault(key, {}).update(fields)

    def hget(self, key, field):
        return self.store.data.get(key, {}).get(field)

    def free_behind_the_stores_back(self, ip):
        del self.store.lease_records[ip]


class RedisStoreTests(ContractMixin, AdminContractMixin, unittest.TestCase):
    def setUp(self):
        self.redis = shared_redis("store-contract")
        self.redis.flushall()
        return connected_store(self, self.redis).addCallback(lambda s: setattr(self, "store", s))

    def hset(self, key, **fields):
        args = [x for kv in fields.items() for x in kv]
        self.redis.cli("HSET", key, *args)

    def hget(self, key, field):
        value = self.redis.cli("HGET", key, field).rstrip("\n")
        return value if self.redis.cli("HEXISTS", key, field).strip() == "1" else None

    def free_behind_the_stores_back(self, ip):
        self.redis.cli("DEL", "lease:" + ip)
        self.redis.cli("ZREM", "leases", ip)


class OneCallMixin:
    """A lookup with an Intent offers or commits in the same round trip, by the same rules
    as the separate calls (LeaseAllocation falls back to those with other stores), on every
    store: the memory store runs the branch production runs."""

    def seed(self):
        self.hset("group:default", **{"lease-time": "1h30m"})
        self.hset("group:pool", **{"lease-time": "10m", "range": "192.0.2.10-192.0.2.11"})
        self.hset("subnet:198.51.100.0/24", range="198.51.100.5-198.51.100.6")
        self.hset("mac:" + C, ip="192.0.2.99")

    def lookup(self, mac, intent, selector=LOCAL, now=NOW):
        return self.store.lookup(["mac:" + mac], now, selector, intent)

    @defer.inlineCallbacks
    def test_discover_offers_from_the_group_or_the_subnet(self):
        found = yield self.lookup(A, OfferIntent(A, "192.0.2.11", 60))
        self.assertEqual(found.allocation, Offered("192.0.2.11"))
        found = yield self.lookup(B, OfferIntent(B, "", 60), selector="198.51.100.1")
        self.assertEqual((found.subnet, found.allocation), ("198.51.100.0/24",
                                                            Offered("198.51.100.5")))
        found = yield self.lookup(C, OfferIntent(C, "", 60))
        self.assertIsNone(found.allocation)  # reserved: nothing to allocate

    def offered(self, mac, address, selector=LOCAL):
        """A DISCOVER's offer of `address`: a SELECTING REQUEST needs one (RFC 2131 4.3.2)."""
        return self.lookup(mac, OfferIntent(mac, address, 60), selector=selector)

    @defer.inlineCallbacks
    def test_request_commits_with_the_groups_lease_time(self):
        yield self.offered(A, "192.0.2.10")
        found = yield self.lookup(A, CommitIntent(A, "192.0.2.10", state="SELECTING",
                                            relay=b"\x01\x01x"))
        self.assertIsInstance(found.allocation, Bound)
        lease = found.allocation.lease
        self.assertEqual((lease.ip, lease.expires, lease.relay),
                         ("192.0.2.10", NOW + 600, "010178"))
        self.assertEqual((yield self.store.lease_at("192.0.2.10")).state, "bound")

    @defer.inlineCallbacks
    def test_request_for_another_address_than_the_clients_lease(self):
        yield self.offered(A, "192.0.2.10")
        yield self.lookup(A, CommitIntent(A, "192.0.2.10", state="SELECTING"))
        found = yield self.lookup(A, CommitIntent(A, "192.0.2.11", state="INIT-REBOOT"))
        self.assertEqual(found.allocation, Holds("192.0.2.10"))
        found = yield self.lookup(B, CommitIntent(B, "192.0.2.10", state="SELECTING"))
        self.assertIsInstance(found.allocation, Refused)
        self.assertTrue(found.allocation.conflict.taken)
        found = yield self.lookup(B, CommitIntent(B, "203.0.113.9", state="INIT-REBOOT"))
        self.assertIsInstance(found.allocation, Refused)
        self.assertFalse(found.allocation.conflict.taken)

    def changed(self, key):
        """A hash was written with redis-cli (behind the store's back)."""
        return defer.succeed(None)

    @defer.inlineCallbacks
    def test_lease_time_falls_back_through_subnet_and_default(self):
        self.hdel("group:pool", "lease-time")
        yield self.changed("group:pool")
        yield self.offered(A, "192.0.2.10")
        found = yield self.lookup(A, CommitIntent(A, "192.0.2.10", state="SELECTING"))
        self.assertEqual(found.allocation.lease.expires, NOW + 5400)
        self.hset("subnet:198.51.100.0/24", **{"lease-time": "90s"})
        yield self.changed("subnet:198.51.100.0/24")
        yield self.offered(B, "198.51.100.6", selector="198.51.100.1")
        found = yield self.lookup(B, CommitIntent(B, "198.51.100.6", state="SELECTING"),
                                  selector="198.51.100.1")
        self.assertEqual(found.allocation.lease.expires, NOW + 90)


class MemoryOneCallTests(OneCallMixin, unittest.TestCase):
    def setUp(self):
        self.store = MemoryStore()
        self.seed()

    def hset(self, key, **fields):
        self.store.data.setdefault(key, {}).update(fields)

    def hdel(self, key, field):
        self.store.data.get(key, {}).pop(field, None)


class RedisOneCallTests(OneCallMixin, unittest.TestCase):
    def setUp(self):
        self.redis = shared_redis("store-contract")
        self.redis.flushall()
        self.seed()
        return connected_store(self, self.redis).addCallback(lambda s: setattr(self, "store", s))

    def hset(self, key, **fields):
        self.redis.cli("HSET", key, *[x for kv in fields.items() for x in kv])

    def hdel(self, key, field):
        self.redis.cli("HDEL", key, field)


class CachedOneCallTests(RedisOneCallTests):
    """The same through InventoryCache: the host is known from a first lookup, and the second
    allocates with allocate() (offer.lua, bind.lua) from the cached groups and subnets."""

    @defer.inlineCallbacks
    def setUp(self):
        yield super().setUp()
        self.cache = InventoryCache(self.store, reactor, ttl=60)
        self.store.watch(self.cache._changed, self.cache._watch_state)
        yield self.settle(lambda: self.cache._ready())

    @defer.inlineCallbacks
    def settle(self, condition):
        for _ in range(250):
            if condition():
                return
            yield sleep(0.02)
        self.fail("the cache did not settle")

    @defer.inlineCallbacks
    def lookup(self, mac, intent, selector=LOCAL, now=NOW):
        yield self.cache.lookup(["mac:" + mac], now, selector)
        hits = self.cache.cache_stats["hits"]
        found = yield self.cache.lookup(["mac:" + mac], now, selector, intent)
        self.assertEqual(self.cache.cache_stats["hits"], hits + 1)
        return found

    @defer.inlineCallbacks
    def changed(self, key):
        heard = self.cache.cache_stats["invalidations"]
        self.redis.cli("PUBLISH", "apidhcpd:inventory", key)
        yield self.settle(lambda: self.cache.cache_stats["invalidations"] > heard
                          and self.cache._index_at is not None)


# `range` and `lease-time` texts that the Python rules (inventory/rules.py) and common.lua
# must read alike: what each store then allocates must be what the rules say
TRICKY_RANGES = (
    "192.0.2.10-192.0.2.12", " 192.0.2.11 - 192.0.2.12 ,192.0.2.20", "192.0.2.12-192.0.2.10",
    "garbage, 192.0.2.11-192.0.2.12", "192.0.2", "10.1-10.5", "010.0.0.1", "192.0.2.256",
    "0x0a.0.0.1", "192.0.2.10-", "-192.0.2.10", "192.0.2.10-192.0.2.11-192.0.2.12", ",,", "",
    "192.0.2.13\t-\t192.0.2.14", "\uff11\uff19\uff12.0.2.1", "192.0.2.10\xa0", "1.2.3.4.5",
    "192.0.2.0010", "192.0.2.10-192.0.2.010", "192.0.2.255", "192.0.2.1 2", "192.0.2.15,",
)
TRICKY_DURATIONS = (
    "1h", "24h", "30m", "1h30m", "90s", "3600", "1.5h", ".5h", "forever", "1d", "10ms", "-1h",
    "1h junk", "h", "0", "4294967295", "4294967294", "5000000000", " 1h ", "1h 30m",
    "\uff11\uff12", "1000000\xb5s", "2000ms", "1.h", ".", "1e3s", "\t60\n", "1H", "0.5s",
    "1s500ms", "+60", "60.0", "1\xa0h",
)


class RulesAgreeMixin:
    """The stores read `range` and `lease-time` by the one set of rules: inventory/rules.py in
    Python, common.lua's ranges_from_text() and duration() in Redis, alike for every input."""

    @defer.inlineCallbacks
    def test_a_range_gives_what_the_rules_say(self):
        for n, text in enumerate(TRICKY_RANGES):
            yield self.fresh()
            self.hset("group:pool", range=text)
            mac = "02:00:00:00:0e:%02x" % n
            found = yield self.store.lookup(["mac:" + mac], NOW, LOCAL, OfferIntent(mac, "", 60))
            ranges = rules.address_source("pool", {"range": text}, None, {}).ranges
            first = allocation.int_to_ip(min(start for start, _ in ranges)) if ranges else None
            self.assertEqual(found.allocation, Offered(first), repr(text))

    @defer.inlineCallbacks
    def test_a_lease_time_gives_what_the_rules_say(self):
        for n, text in enumerate(TRICKY_DURATIONS):
            yield self.fresh()
            self.hset("group:pool", **{"range": "192.0.2.10-192.0.2.11", "lease-time": text})
            mac = "02:00:00:00:0f:%02x" % n
            yield self.store.lookup(["mac:" + mac], NOW, LOCAL, OfferIntent(mac, "", 60))
            found = yield self.store.lookup(["mac:" + mac], NOW, LOCAL,
                                            CommitIntent(mac, "192.0.2.10", "SELECTING"))
            self.assertIsInstance(found.allocation, Bound, repr(text))
            self.assertEqual(found.allocation.lease.expires - NOW, rules.lease_seconds(text),
                             repr(text))


class MemoryRulesTests(RulesAgreeMixin, unittest.TestCase):
    def fresh(self):
        self.store = MemoryStore()
        return defer.succeed(None)

    def hset(self, key, **fields):
        self.store.data.setdefault(key, {}).update(fields)


class RedisRulesTests(RulesAgreeMixin, unittest.TestCase):
    def setUp(self):
        self.redis = shared_redis("store-contract")
        self.redis.flushall()
        return connected_store(self, self.redis).addCallback(lambda s: setattr(self, "store", s))

    def fresh(self):
        self.redis.flushall()
        return defer.succeed(None)

    def hset(self, key, **fields):
        self.redis.cli("HSET", key, *[x for kv in fields.items() for x in kv])

    def lua(self, body):
        from apidhcpd.store.redisconn import _LUA_DIR
        with open(os.path.join(_LUA_DIR, "common.lua")) as f:
            return f.read() + "\n" + body

    @defer.inlineCallbacks
    def test_lua_reads_ranges_as_allocation_lenient_ranges(self):
        script = self.lua("return ranges_from_text(ARGV[1])")
        for text in TRICKY_RANGES:
            got = yield self.store.redis.eval(script, [], [text])
            self.assertEqual(got, [list(r) for r in allocation.lenient_ranges(text)], repr(text))

    @defer.inlineCallbacks
    def test_lua_durations_agree_with_inventory_parse_duration(self):
        script = self.lua("return duration(ARGV[1])")
        for text in TRICKY_DURATIONS:
            try:
                expected = parse_duration(text)
            except ValueError:
                expected = None
            got = yield self.store.redis.eval(script, [], [text])
            self.assertEqual(got, expected, repr(text))


class RedisBatchTests(unittest.TestCase):
    """The packet path's calls made within FLUSH_AFTER leave in one write, and each still
    gets its own reply, even with txredisapi's own calls on the same connection."""

    def setUp(self):
        self.redis = shared_redis("store-contract")
        self.redis.flushall()
        self.redis.cli("HSET", "mac:" + A, "ip", "192.0.2.99")
        self.redis.cli("SET", "plain", "value")
        return connected_store(self, self.redis, poolsize=1).addCallback(
            lambda s: setattr(self, "store", s))

    def count_writes(self):
        transport = self.store.factory.pool[0].transport
        writes, write = [], transport.write
        transport.write = lambda data: (writes.append(data), write(data))[1]
        self.addCleanup(setattr, transport, "write", write)
        return writes

    @defer.inlineCallbacks
    def test_calls_in_one_window_share_one_write(self):
        yield self.store.lookup(["mac:" + B], NOW, LOCAL)  # Redis knows the script after this
        writes = self.count_writes()
        found = yield defer.gatherResults([
            self.store.lookup(["mac:" + mac], NOW, LOCAL) for mac in (A, B, C, A)])
        self.assertEqual(len(writes), 1)
        self.assertEqual([f.host.reserved_ip if f.host else None for f in found],
                         ["192.0.2.99", None, None, "192.0.2.99"])

    @defer.inlineCallbacks
    def test_replies_stay_paired_with_other_calls_on_the_connection(self):
        first = self.store.lookup(["mac:" + A], NOW, LOCAL)  # queued for the flush
        plain = self.store.redis.get("plain")  # written at once, on the same connection
        second = self.store.lookup(["mac:" + B], NOW, LOCAL)
        found = yield defer.gatherResults([first, plain, second])
        self.assertEqual(found[0].host.reserved_ip, "192.0.2.99")
        self.assertEqual(found[1], "value")
        self.assertIsNone(found[2].host)


class InterfaceTests(unittest.TestCase):
    """Every store class provides what it declares, with compatible signatures."""

    def stores(self):
        from twisted.internet.task import Clock

        from apidhcpd.admin.metrics import TimedStore
        from apidhcpd.store.http import HTTPStore
        from apidhcpd.store.outage import OutageCache
        redis = RedisStore(RedisURL.parse("redis://127.0.0.1:1/0"), reactor)
        return [MemoryStore(), redis, HTTPStore("http://192.0.2.1/", reactor),
                OutageCache(MemoryStore(), Clock()), OutageCache(redis, Clock()),
                InventoryCache(MemoryStore(), Clock()), InventoryCache(redis, Clock()),
                TimedStore(MemoryStore()), TimedStore(redis)]

    def test_every_store_provides_what_it_declares(self):
        declared = []
        for store in self.stores():
            self.assertTrue(verifyObject(IStore, store), store)
            for interface in (IAdmin, ICacheable, IStore6, ICacheable6):
                if interface.providedBy(store):
                    self.assertTrue(verifyObject(interface, store), (store, interface))
            declared.append((IAdmin.providedBy(store), ICacheable.providedBy(store),
                             IStore6.providedBy(store), ICacheable6.providedBy(store)))
        # the caches provide IStore6 as the store beneath them does
        self.assertEqual(declared, [(True, True, True, True), (True, True, True, True),
                                    (False, False, False, False)]
                         + [(True, False, True, False)] * 4 + [(True, True, True, True)] * 2)


class RedisStoreFailureTests(unittest.TestCase):
    def test_calls_fail_fast_without_a_connection(self):
        store = RedisStore(RedisURL.parse("redis://127.0.0.1:1/0"), reactor, timeout=0.2)
        return self.assertFailure(store.lookup(["mac:" + A], NOW, LOCAL), StoreUnavailable)

    def test_urls(self):
        self.assertEqual(RedisURL.parse("redis://:s3cret@192.0.2.9:6380/2"),
                         RedisURL(host="192.0.2.9", port=6380, db=2, password="s3cret"))
        self.assertEqual(RedisURL.parse("unix:///run/redis.sock?db=3"),
                         RedisURL(path="/run/redis.sock", db=3))
        self.assertEqual(
            RedisURL.parse("redis+sentinel://:pw@192.0.2.1:26379,192.0.2.2/dhcp/3"),
            RedisURL(sentinels=(("192.0.2.1", 26379), ("192.0.2.2", 26379)), service="dhcp",
                     db=3, password="pw"))
        for bad in ("http://x", "redis://host:notaport/", "unix://", "redis://h/x",
                    "redis+sentinel://192.0.2.1:26379", "redis+sentinel:///dhcp",
                    "redis+sentinel://h:x/dhcp", "rediss://h/0?ca=/nonexistent/ca.pem"):
            self.assertRaises(ValueError, RedisURL.parse, bad)

