"""The DHCPv6 half of the admin contract (IAdmin6): the lease listing, the bounded reads the
validation makes (the subnet6 of an address, the hosts reserving a value) and the pool
tallies, the same tests on MemoryStore and on a real redis-server; and what a group's users
are now that subnet6: and duid: keys name groups too."""

from twisted.internet import defer
from twisted.trial import unittest

from apidhcpd.inventory.allocation6 import NA, PD, source6
from apidhcpd.store.contract6 import IAdmin6, IAKey, Lease6Record
from apidhcpd.store.memory import MemoryStore
from tests.redisserver import shared_redis
from tests.stores import connected_store

NOW = 1_000_000
D1, D2, D3 = "000100012a0000000200000000d1", "00030001020000000002", "00030001020000000003"
NET = "2001:db8:1::/64"
FIELDS = {"range": "2001:db8:1::100-2001:db8:1::102", "pd-pool": "2001:db8:100::/54 56"}
ADDRS, PREFIXES = source6(NET, FIELDS, NA), source6(NET, FIELDS, PD)
FIRST, SECOND, THIRD = "2001:db8:1::100", "2001:db8:1::101", "2001:db8:1::102"
P0, P1 = "2001:db8:100::/56", "2001:db8:100:100::/56"
MAC = "02:00:00:00:00:0a"


class Admin6Mixin:
    @defer.inlineCallbacks
    def leases(self):
        """A bound address (with its MAC), an offered prefix, a declined address, an expired
        prefix: in expiry order."""
        yield self.store.commit6(IAKey(D1, 1), FIRST, ADDRS, 3600, NOW, mac=MAC)
        yield self.store.offer6(IAKey(D2, 7, PD), PREFIXES, [], NOW, 60)
        yield self.store.commit6(IAKey(D3, 2), SECOND, ADDRS, 600, NOW)
        yield self.store.decline6(IAKey(D3, 2), SECOND, NOW, 1800)
        yield self.store.commit6(IAKey(D3, 3, PD), P1, PREFIXES, 10, NOW - 100)

    def test_the_store_provides_it(self):
        self.assertTrue(IAdmin6.providedBy(self.store))

    @defer.inlineCallbacks
    def test_leases_in_expiry_order_with_what_the_record_says(self):
        yield self.leases()
        found = yield self.store.leases6_page(0, 10)
        self.assertEqual(found, [
            Lease6Record(P1, D3, 3, PD, "bound", NOW - 90, NET + "#pd"),
            Lease6Record(P0, D2, 7, PD, "offered", NOW + 60, NET + "#pd"),
            Lease6Record(SECOND, "", None, NA, "declined", NOW + 1800, NET),
            Lease6Record(FIRST, D1, 1, NA, "bound", NOW + 3600, NET, MAC)])
        self.assertEqual((yield self.store.lease6_count()), 4)
        self.assertEqual((yield self.store.leases6_page(1, 2)), found[1:3])
        self.assertEqual((yield self.store.leases6_page(4, 2)), [])
        self.assertEqual((yield self.store.lease6_at(FIRST)), found[3])
        self.assertEqual((yield self.store.lease6_at(P1)), found[0])
        self.assertIsNone((yield self.store.lease6_at(THIRD)))

    @defer.inlineCallbacks
    def test_a_reservations_lease_names_no_pool(self):
        yield self.store.commit6_reserved(IAKey(D1, 1), "2001:db8:1::5", 3600, NOW)
        self.assertEqual((yield self.store.lease6_at("2001:db8:1::5")),
                         Lease6Record("2001:db8:1::5", D1, 1, NA, "bound", NOW + 3600))

    @defer.inlineCallbacks
    def test_the_subnet6_of_an_address(self):
        yield self.store.put("subnet6:2001:db8::/48", {"dns6": "2001:db8::53"})
        yield self.store.put("subnet6:" + NET, FIELDS)
        for address, network in (("2001:db8:1::9", NET), ("2001:db8:0:2::9", "2001:db8::/48"),
                                 ("2001:db9::1", None), ("192.0.2.1", None), ("", None)):
            self.assertEqual((yield self.store.subnet6_of(address)), network, address)
        yield self.store.delete("subnet6:" + NET)
        self.assertIsNone((yield self.store.subnet6_of("2001:db8:1::9")))
        self.assertEqual((yield self.store.subnet6_of("2001:db8::1")), "2001:db8::/48")

    @defer.inlineCallbacks
    def test_the_hosts_reserving_a_value_in_any_spelling(self):
        yield self.store.put("duid:" + D1, {"ip6": "2001:DB8:1:0::5"})
        yield self.store.put("mac:" + MAC, {"ip6": "2001:db8:1::5", "prefix6": P1})
        yield self.store.put("client:laptop", {"prefix6": "2001:db8:100:100:0::/56"})
        yield self.store.put("relay:sw1/7", {"ip6": "2001:db8:1::5/64"})  # reserves nothing
        yield self.store.put("group:lab", {"ip6": "2001:db8:1::5"})  # no host
        self.assertEqual(sorted((yield self.store.holders6("2001:db8:1::5"))),
                         ["duid:" + D1, "mac:" + MAC])
        self.assertEqual(sorted((yield self.store.holders6(P1))), ["client:laptop", "mac:" + MAC])
        self.assertEqual((yield self.store.holders6("2001:db8:1::6")), [])

    @defer.inlineCallbacks
    def test_pool_tallies_count_unexpired_leases_by_the_pool_they_came_from(self):
        yield self.leases()
        yield self.store.commit6_reserved(IAKey(D2, 1), THIRD, 3600, NOW)  # in no pool
        found = yield self.store.pool6_tally([NET, NET + "#pd", "2001:db8:2::/64"], NOW)
        self.assertEqual(found, [{"bound": 1, "offered": 0, "declined": 1},
                                 {"bound": 0, "offered": 1, "declined": 0},
                                 {"bound": 0, "offered": 0, "declined": 0}])
        self.assertEqual((yield self.store.pool6_tally([], NOW)), [])

    @defer.inlineCallbacks
    def test_a_groups_users_include_subnet6_and_duid_keys(self):
        yield self.store.put("group:lab", {"dns6": "2001:db8::53"})
        yield self.store.put("subnet6:" + NET, {"group": "lab"})
        yield self.store.put("duid:" + D1, {"group": "group:lab"})
        yield self.store.put("mac:" + MAC, {"group": "other"})
        self.assertEqual((yield self.store.group_users("lab", 4)),
                         ["duid:" + D1, "subnet6:" + NET])


class MemoryAdmin6Tests(Admin6Mixin, unittest.TestCase):
    def setUp(self):
        self.store = MemoryStore()


class RedisAdmin6Tests(Admin6Mixin, unittest.TestCase):
    def setUp(self):
        self.redis = shared_redis("admin6")
        self.redis.flushall()
        return connected_store(self, self.redis).addCallback(lambda s: setattr(self, "store", s))

    @defer.inlineCallbacks
    def test_without_an_index_to_trust_holders6_walk_in_steps(self):
        """The CLI's store (no trusted index) finds a host written with plain redis-cli; the
        API's (trust_reserved_index, as tap.py sets it) asks `reserved6` first, and walks
        only for a value the index holds."""
        self.redis.cli("HSET", "mac:" + MAC, "ip6", "2001:db8:1::7")
        self.assertEqual((yield self.store.holders6("2001:db8:1::7")), ["mac:" + MAC])
        self.store.trust_reserved_index = True
        self.assertEqual((yield self.store.holders6("2001:db8:1::7")), [])
        yield self.store.refresh_reserved()
        self.assertEqual((yield self.store.holders6("2001:db8:1::7")), ["mac:" + MAC])
