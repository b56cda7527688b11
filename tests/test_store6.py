"""The DHCPv6 store contract (IStore6): the same tests against MemoryStore and against a real
redis-server; what one allocation costs Redis; and common6.lua held to inventory/allocation6.py
(the same texts read alike, the same arithmetic)."""

import ipaddress
import json

from hypothesis import example, given, settings
from hypothesis import strategies as st
from twisted.internet import defer
from twisted.trial import unittest

from apidhcpd.inventory import allocation6
from apidhcpd.inventory.allocation6 import CAP, NA, PD, PROBES, Source6, lifetimes, source6
from apidhcpd.store.contract6 import Conflict6, IAKey, Lease6
from apidhcpd.store.memory import MemoryStore
from apidhcpd.store.redis6 import _source
from apidhcpd.store.redisconn import SCRIPTS
from tests.redisserver import shared_redis
from tests.stores import connected_store

NOW = 1_000_000
D1, D2, D3 = "000100012a0000000200000000d1", "00030001020000000002", "00030001020000000003"
A1, A2 = IAKey(D1, 1), IAKey(D2, 7)
NET = "2001:db8:1::/64"
FIELDS = {"range": "2001:db8:1::100-2001:db8:1::102", "pd-pool": "2001:db8:100::/54 56"}
ADDRS = source6(NET, FIELDS, NA)  # three addresses
PREFIXES = source6(NET, FIELDS, PD)  # four /56 prefixes
FIRST, SECOND, THIRD = "2001:db8:1::100", "2001:db8:1::101", "2001:db8:1::102"
P0, P1 = "2001:db8:100::/56", "2001:db8:100:100::/56"
LINK = "2001:db8:1::1"


def ia(n, kind=NA, iaid=1):
    return IAKey("00030001020000%06x" % n, iaid, kind)


class Contract6Mixin:
    """Each test seeds hashes with self.hset (written by hand) or self.store.put (through the
    API: the indexes follow) and exercises self.store."""

    @defer.inlineCallbacks
    def test_lookup6_finds_the_duid_then_the_mac_and_writes_ts(self):
        self.hset("duid:" + D1, ip6="2001:db8:1::5", group="lab")
        self.hset("mac:02:00:00:00:00:0a", hostname="anna")
        self.hset("group:lab", dns6="2001:db8::53")
        self.hset("group:default", dns6="2001:db8::1")
        found = yield self.store.lookup6(["duid:" + D1, "mac:02:00:00:00:00:0a"], NOW, LINK)
        self.assertEqual((found.host.key, found.group_name, found.group_fields),
                         ("duid:" + D1, "lab", {"dns6": "2001:db8::53"}))
        self.assertEqual(found.default_fields, {"dns6": "2001:db8::1"})
        found = yield self.store.lookup6(["duid:" + D2, "mac:02:00:00:00:00:0a"], NOW + 5, LINK)
        self.assertEqual(found.host.key, "mac:02:00:00:00:00:0a")
        self.assertEqual(self.hget("mac:02:00:00:00:00:0a", "ts"), str(NOW + 5))

    @defer.inlineCallbacks
    def test_a_reserved_host_gets_default_and_a_dynamic_one_the_subnets_group(self):
        self.hset("group:default", dns6="2001:db8::1")
        self.hset("group:v6", dns6="2001:db8::2")
        yield self.store.put("subnet6:" + NET, {"group": "v6", **FIELDS})
        self.hset("duid:" + D1, ip6="2001:db8:1::5")
        self.hset("duid:" + D2, hostname="no reservation")
        found = yield self.store.lookup6(["duid:" + D1], NOW, LINK)
        self.assertEqual(found.group_name, "default")
        found = yield self.store.lookup6(["duid:" + D2], NOW, LINK)
        self.assertEqual(found.group_name, "v6")
        found = yield self.store.lookup6(["duid:" + D3], NOW, "2001:db8:2::1")
        self.assertEqual((found.host, found.subnet, found.group_name), (None, None, "default"))

    @defer.inlineCallbacks
    def test_the_longest_subnet6_holding_the_selector(self):
        yield self.store.put("subnet6:2001:db8::/48", {"range": "2001:db8::100-2001:db8::1ff"})
        yield self.store.put("subnet6:2001:db8:0:1::/64", {"dns6": "2001:db8::53"})
        yield self.store.put("subnet6:2001:DB8:0:2::/64", {"dns6": "not canonical"})
        yield self.store.put("subnet6:2001:db8:0:3::1/64", {"dns6": "host bits set"})
        for selector, subnet in (("2001:db8:0:1::9", "2001:db8:0:1::/64"),
                                 ("2001:db8:0:2::9", "2001:db8::/48"),
                                 ("2001:db8:0:3::1", "2001:db8::/48"),
                                 ("2001:db8:0:ffff::1", "2001:db8::/48"),
                                 ("2001:db9::1", None), ("192.0.2.1", None), ("", None)):
            found = yield self.store.lookup6([], NOW, selector)
            self.assertEqual(found.subnet, subnet, selector)
        found = yield self.store.lookup6([], NOW, "2001:db8:0:1::9")
        self.assertEqual(found.subnet_fields, {"dns6": "2001:db8::53"})
        yield self.store.delete("subnet6:2001:db8:0:1::/64")
        self.assertEqual((yield self.store.lookup6([], NOW, "2001:db8:0:1::9")).subnet,
                         "2001:db8::/48")

    @defer.inlineCallbacks
    def test_a_subnet6_written_by_hand_counts_from_the_index_refresh_on(self):
        self.hset("subnet6:" + NET, range=FIELDS["range"])
        self.assertIsNone((yield self.store.lookup6([], NOW, LINK)).subnet)
        yield self.store.refresh_reserved()
        self.assertEqual((yield self.store.lookup6([], NOW, LINK)).subnet, NET)

    @defer.inlineCallbacks
    def test_solicit_then_request(self):
        offered = yield self.store.offer6(A1, ADDRS, [], NOW, 60)
        self.assertEqual(offered, Lease6(A1, FIRST, "offered", NOW + 60))
        bound = yield self.store.commit6(A1, FIRST, ADDRS, 3600, NOW + 1, mac="02:00:00:00:00:0a")
        self.assertEqual(bound, Lease6(A1, FIRST, "bound", NOW + 3601))
        self.assertEqual((yield self.store.leases6_of(D1, NOW + 2)), [bound])
        self.assertEqual((yield self.store.leases6_of(D1, NOW + 3601)), [])
        # a SOLICIT of the bound IA gets its lease as it is
        self.assertEqual((yield self.store.offer6(A1, ADDRS, [], NOW + 5, 60)), bound)

    @defer.inlineCallbacks
    def test_an_offer_is_held_and_sticky(self):
        first = yield self.store.offer6(A1, ADDRS, [], NOW, 60)
        other = yield self.store.offer6(A2, ADDRS, [], NOW, 60)
        again = yield self.store.offer6(A1, ADDRS, [], NOW + 10, 60)
        self.assertNotEqual(first.value, other.value)
        self.assertEqual((again.value, again.expires), (first.value, NOW + 70))
        # once the hold ends, the value is free to another IA
        late = yield self.store.offer6(ia(9), ADDRS, [first.value], NOW + 71, 60)
        self.assertEqual(late.value, first.value)

    @defer.inlineCallbacks
    def test_a_hint_is_honoured_when_free_and_in_the_pool(self):
        got = yield self.store.offer6(A1, ADDRS, ["2001:db8:1::999", THIRD], NOW, 60)
        self.assertEqual(got.value, THIRD)
        other = yield self.store.offer6(A2, ADDRS, [THIRD, "garbage"], NOW, 60)
        self.assertEqual(other.value, FIRST)  # THIRD is held: the pool's first free value
        got = yield self.store.offer6(ia(3, PD), PREFIXES, ["2001:db8:100:100::/56"], NOW, 60)
        self.assertEqual(got.value, P1)
        got = yield self.store.offer6(ia(4, PD), PREFIXES, ["::/56", "2001:db8:100::/60"], NOW,
                                      60)
        self.assertEqual(got.value, P0)

    @defer.inlineCallbacks
    def test_values_are_rfc5952_whatever_the_client_wrote(self):
        got = yield self.store.offer6(A1, ADDRS, ["2001:0DB8:0001:0000:0000:0000:0000:0101"],
                                      NOW, 60)
        self.assertEqual(got.value, SECOND)
        bound = yield self.store.commit6(A1, "2001:DB8:1:0::101", ADDRS, 3600, NOW)
        self.assertEqual(bound.value, SECOND)
        prefix = yield self.store.commit6(ia(2, PD), "2001:DB8:100:0100:0::/56", PREFIXES, 3600,
                                          NOW)
        self.assertEqual(prefix.value, P1)
        self.assertTrue((yield self.store.release6(A1, "2001:db8:1:0:0:0:0:101", NOW)))

    @defer.inlineCallbacks
    def test_two_ias_never_get_the_same_value(self):
        got = []
        for n in range(3):
            lease = yield self.store.offer6(ia(n), ADDRS, [FIRST], NOW, 60)
            got.append(lease.value)
        self.assertEqual(sorted(got), [FIRST, SECOND, THIRD])
        self.assertIsNone((yield self.store.offer6(ia(9), ADDRS, [FIRST], NOW, 60)))
        # one DUID, two IAIDs: two prefixes; the same IA again: its prefix again
        duid = "00030001020000000099"
        values = []
        for _ in range(2):
            for iaid in (1, 2):
                lease = yield self.store.offer6(IAKey(duid, iaid, PD), PREFIXES, [], NOW, 60)
                values.append(lease.value)
        self.assertEqual(values, [P0, P1, P0, P1])

    @defer.inlineCallbacks
    def test_bind6_binds_what_offer6_picked_in_one_call(self):
        offered = yield self.store.offer6(A1, ADDRS, [], NOW, 60)
        bound = yield self.store.bind6(A1, ADDRS, [], 3600, NOW + 1, "02:00:00:00:00:01")
        self.assertEqual((bound.value, bound.state, bound.expires),
                         (offered.value, "bound", NOW + 3601))
        again = yield self.store.bind6(A1, ADDRS, [], 3600, NOW + 2)  # its own lease again
        self.assertEqual(again.value, offered.value)
        hinted = yield self.store.bind6(A2, ADDRS, [THIRD], 3600, NOW)  # no offer: the hint
        self.assertEqual(hinted.value, THIRD)
        prefix = yield self.store.bind6(IAKey(D1, 9, PD), PREFIXES, [], 3600, NOW)
        self.assertEqual(prefix.value, P0)
        for n in range(3, 10):  # the three addresses are spent: None, nothing recorded
            found = yield self.store.bind6(ia(n), ADDRS, [], 3600, NOW)
            if found is None:
                break
        self.assertIsNone(found)
        leases = yield self.store.leases6_of(ia(n).duid, NOW)
        self.assertEqual(leases, [])

    @defer.inlineCallbacks
    def test_commit_refuses_taken_reserved_outside_and_malformed_values(self):
        yield self.store.commit6(A1, FIRST, ADDRS, 3600, NOW)
        for value, source, taken in ((FIRST, ADDRS, True), ("2001:db8:2::1", ADDRS, False),
                                     ("nonsense", ADDRS, False), (P0, ADDRS, False),
                                     ("2001:db8:100::/60", PREFIXES, False),
                                     ("2001:db8:100::1/56", PREFIXES, False)):
            kind = PD if source is PREFIXES else NA
            refused = yield self.assertFailure(
                self.store.commit6(IAKey(D2, 7, kind), value, source, 3600, NOW), Conflict6)
            self.assertEqual(refused.taken, taken, value)
        yield self.store.put("mac:02:00:00:00:00:0b", {"ip6": THIRD})
        refused = yield self.assertFailure(self.store.commit6(A2, THIRD, ADDRS, 3600, NOW),
                                           Conflict6)
        self.assertTrue(refused.taken)
        # once A1's lease has ended, the value is free
        yield self.store.commit6(A2, FIRST, ADDRS, 3600, NOW + 3600)

    @defer.inlineCallbacks
    def test_a_reserved_value_is_never_offered_to_another_ia(self):
        yield self.store.put("duid:" + D3, {"ip6": FIRST, "prefix6": P0})
        self.hset("mac:02:00:00:00:00:0c", ip6=" 2001:DB8:1::101 ")  # by hand: the refresh
        yield self.store.refresh_reserved()
        got = yield self.store.offer6(A1, ADDRS, [FIRST, SECOND], NOW, 60)
        self.assertEqual(got.value, THIRD)
        self.assertIsNone((yield self.store.offer6(A2, ADDRS, [], NOW, 60)))
        got = yield self.store.offer6(ia(5, PD), PREFIXES, [P0], NOW, 60)
        self.assertEqual(got.value, P1)
        # the host records its own reservation; nobody else may
        lease = yield self.store.commit6_reserved(IAKey(D3, 1), FIRST, 3600, NOW)
        self.assertEqual(lease, Lease6(IAKey(D3, 1), FIRST, "bound", NOW + 3600))
        yield self.assertFailure(self.store.commit6_reserved(IAKey(D2, 1), FIRST, 3600, NOW),
                                 Conflict6)
        yield self.assertFailure(self.store.commit6_reserved(IAKey(D3, 1, PD), FIRST, 3600, NOW),
                                 Conflict6)

    @defer.inlineCallbacks
    def test_a_lookup_indexes_the_reservation_it_sees(self):
        self.hset("duid:" + D3, ip6=SECOND)  # by hand, before any refresh
        yield self.store.lookup6(["duid:" + D3], NOW, LINK)
        got = yield self.store.offer6(A1, ADDRS, [SECOND], NOW, 60)
        self.assertEqual(got.value, FIRST)

    @defer.inlineCallbacks
    def test_put_keeps_reserved6_true(self):
        yield self.store.put("duid:" + D3, {"ip6": FIRST})
        self.assertEqual((yield self.store.offer6(A1, ADDRS, [FIRST], NOW, 60)).value, SECOND)
        yield self.store.put("duid:" + D3, {"ip6": THIRD})
        self.assertEqual((yield self.store.offer6(A2, ADDRS, [FIRST], NOW, 60)).value, FIRST)
        yield self.store.delete("duid:" + D3)
        self.assertEqual((yield self.store.offer6(ia(3), ADDRS, [THIRD], NOW, 60)).value, THIRD)

    @defer.inlineCallbacks
    def test_a_new_value_gives_the_previous_one_back(self):
        yield self.store.commit6(A1, FIRST, ADDRS, 3600, NOW)
        yield self.store.commit6(A1, SECOND, ADDRS, 3600, NOW + 5)
        self.assertEqual([lease.value for lease in (yield self.store.leases6_of(D1, NOW + 6))],
                         [SECOND])
        got = yield self.store.offer6(A2, ADDRS, [], NOW + 6, 60)
        self.assertEqual(got.value, FIRST)  # from the free list
        # an IA offered another value lets its earlier offer go, back to the pool
        first = yield self.store.offer6(ia(3, PD), PREFIXES, [], NOW + 6, 60)
        yield self.store.put("duid:" + D3, {"prefix6": first.value})
        moved = yield self.store.offer6(ia(3, PD), PREFIXES, [], NOW + 7, 60)
        self.assertEqual((first.value, moved.value), (P0, P1))
        self.assertEqual((yield self.store.leases6_of(ia(3).duid, NOW + 7)), [moved])
        yield self.store.delete("duid:" + D3)
        self.assertEqual((yield self.store.offer6(ia(4, PD), PREFIXES, [], NOW + 7, 60)).value,
                         P0)

    @defer.inlineCallbacks
    def test_release_only_by_the_holder(self):
        yield self.store.commit6(A1, FIRST, ADDRS, 3600, NOW)
        self.assertFalse((yield self.store.release6(A2, FIRST, NOW)))
        self.assertFalse((yield self.store.release6(IAKey(D1, 2), FIRST, NOW)))
        self.assertFalse((yield self.store.release6(IAKey(D1, 1, PD), FIRST, NOW)))
        self.assertFalse((yield self.store.release6(A1, SECOND, NOW)))
        self.assertTrue((yield self.store.release6(A1, FIRST, NOW)))
        self.assertEqual((yield self.store.leases6_of(D1, NOW)), [])
        self.assertEqual((yield self.store.offer6(A2, ADDRS, [], NOW, 60)).value, FIRST)

    @defer.inlineCallbacks
    def test_decline_only_by_the_holder_and_for_the_probation(self):
        yield self.store.commit6(A1, FIRST, ADDRS, 3600, NOW)
        self.assertFalse((yield self.store.decline6(A2, FIRST, NOW, 300)))
        self.assertTrue((yield self.store.decline6(A1, FIRST, NOW, 300)))
        self.assertEqual((yield self.store.leases6_of(D1, NOW)), [])
        got = yield self.store.offer6(A2, ADDRS, [FIRST], NOW + 1, 60)
        self.assertEqual(got.value, SECOND)
        self.assertFalse((yield self.store.release6(A1, FIRST, NOW + 1)))
        self.assertEqual((yield self.store.reclaim6(NOW + 301)), 2)  # the offer, the decline
        got = yield self.store.offer6(ia(3), ADDRS, [], NOW + 302, 60)
        self.assertEqual(got.value, FIRST)  # both given back at once: in text order
        got = yield self.store.offer6(ia(4), ADDRS, [], NOW + 302, 60)
        self.assertEqual(got.value, SECOND)

    @defer.inlineCallbacks
    def test_reclaim_returns_expired_values_to_the_pool(self):
        for n, value in enumerate((FIRST, SECOND, THIRD)):
            yield self.store.commit6(ia(n), value, ADDRS, 100 * (n + 1), NOW)
        self.assertIsNone((yield self.store.offer6(ia(9), ADDRS, [], NOW, 60)))
        self.assertEqual((yield self.store.reclaim6(NOW + 250)), 2)
        self.assertEqual((yield self.store.leases6_of(ia(0).duid, NOW)), [])
        self.assertEqual([lease.value for lease in (yield self.store.leases6_of(ia(2).duid,
                                                                                NOW))], [THIRD])
        got = []
        for n in (7, 8, 9):
            lease = yield self.store.offer6(ia(n), ADDRS, [], NOW + 250, 60)
            got.append(lease and lease.value)
        self.assertEqual(got, [FIRST, SECOND, None])

    @defer.inlineCallbacks
    def test_a_pd_pool_delegates_its_prefixes_in_order(self):
        got = []
        for n in range(5):
            lease = yield self.store.offer6(ia(n, PD), PREFIXES, [], NOW, 60)
            got.append(lease and lease.value)
        self.assertEqual(got, [P0, P1, "2001:db8:100:200::/56", "2001:db8:100:300::/56", None])

    @defer.inlineCallbacks
    def test_a_run_of_taken_values_costs_a_call_not_a_walk(self):
        big = source6(NET, {"range": "2001:db8:1::-2001:db8:1::ffff"}, NA)
        for n in range(PROBES + 8):
            self.hset("mac:02:00:00:00:%02x:%02x" % divmod(n, 256),
                      ip6=allocation6.value_at(big, n))
        yield self.store.refresh_reserved()
        self.assertIsNone((yield self.store.offer6(A1, big, [], NOW, 60)))  # PROBES checked
        got = yield self.store.offer6(A1, big, [], NOW, 60)
        self.assertEqual(got.value, allocation6.value_at(big, PROBES + 8))

    @defer.inlineCallbacks
    def test_the_refresh_drops_a_reservation_removed_by_hand(self):
        self.hset("mac:02:00:00:00:00:0c", ip6=FIRST, ip="192.0.2.10")
        self.hset("duid:" + D3, prefix6=P0, ip="192.0.2.11")  # duid: keys: DHCPv6 only
        self.assertEqual((yield self.store.refresh_reserved()), 1)
        self.assertEqual((yield self.store.offer6(A1, ADDRS, [FIRST], NOW, 60)).value, SECOND)
        self.assertEqual((yield self.store.offer6(ia(2, PD), PREFIXES, [P0], NOW, 60)).value, P1)
        self.hdel("mac:02:00:00:00:00:0c", "ip6")
        yield self.store.refresh_reserved()
        self.assertEqual((yield self.store.offer6(A2, ADDRS, [FIRST], NOW, 60)).value, FIRST)

    @defer.inlineCallbacks
    def test_server_duid_is_stable(self):
        first = yield self.store.server_duid("host1/eth0", "000100012a00000102000000000a")
        again = yield self.store.server_duid("host1/eth0", "000100012a00000902000000000a")
        other = yield self.store.server_duid("host2/eth0", "000100012a00000902000000000b")
        self.assertEqual((first, again, other), ("000100012a00000102000000000a",) * 2
                         + ("000100012a00000902000000000b",))


class Memory6Tests(Contract6Mixin, unittest.TestCase):
    def setUp(self):
        self.store = MemoryStore()

    def hset(self, key, **fields):
        self.store.data.setdefault(key, {}).update(fields)

    def hget(self, key, field):
        return self.store.data.get(key, {}).get(field)

    def hdel(self, key, field):
        self.store.data.get(key, {}).pop(field, None)


class Redis6Tests(Contract6Mixin, unittest.TestCase):
    def setUp(self):
        self.redis = shared_redis("store6")
        self.redis.flushall()
        return connected_store(self, self.redis).addCallback(lambda s: setattr(self, "store", s))

    def hset(self, key, **fields):
        self.redis.cli("HSET", key, *[x for kv in fields.items() for x in kv])

    def hget(self, key, field):
        value = self.redis.cli("HGET", key, field).rstrip("\n")
        return value if self.redis.cli("HEXISTS", key, field).strip() == "1" else None

    def hdel(self, key, field):
        self.redis.cli("HDEL", key, field)

    def cli(self, *args):
        return self.redis.cli(*args).split()

    @defer.inlineCallbacks
    def test_the_keys_are_those_docs_redis_md_describes(self):
        yield self.store.put("subnet6:" + NET, FIELDS)
        yield self.store.put("duid:" + D3, {"ip6": "2001:DB8:1::5", "prefix6": P1})
        yield self.store.offer6(A2, ADDRS, [], NOW, 60)
        yield self.store.commit6(A1, SECOND, ADDRS, 3600, NOW, mac="02:00:00:00:00:0a")
        yield self.store.release6(A2, FIRST, NOW)
        yield self.store.server_duid("host1/eth0", "0001")
        self.assertEqual(self.cli("HGETALL", "lease6:" + SECOND),
                         ["duid", D1, "iaid", "1", "kind", "na", "state", "bound",
                          "expires", str(NOW + 3600), "pool", NET, "mac", "02:00:00:00:00:0a"])
        self.assertEqual(self.cli("ZRANGE", "leases6", 0, -1, "WITHSCORES"),
                         [SECOND, str(NOW + 3600)])
        self.assertEqual(self.cli("HGETALL", "ia6:" + D1), ["na:1", SECOND])
        self.assertEqual(self.cli("ZRANGE", "free6:" + NET, 0, -1, "WITHSCORES"),
                         [FIRST, str(NOW)])
        self.assertEqual(self.cli("HGET", "cursor6:" + NET, "next"), ["1"])
        self.assertEqual(self.cli("ZRANGE", "subnets6", 0, -1, "WITHSCORES"), [NET, "64"])
        self.assertEqual(sorted(self.cli("SMEMBERS", "reserved6")), sorted(["2001:db8:1::5", P1]))
        self.assertEqual(self.cli("GET", "server6:host1/eth0"), ["0001"])

    @defer.inlineCallbacks
    def test_reclaim6_works_in_batches(self):
        for n in range(7):
            yield self.store.offer6(ia(n, PD), PREFIXES if n < 4 else ADDRS, [], NOW, 60)
        self.assertEqual((yield self.store.reclaim6(NOW + 60, limit=2)), 7)
        self.assertEqual(self.cli("ZCARD", "leases6"), ["0"])
        self.assertEqual(self.cli("ZCARD", "free6:" + NET), ["3"])

    @defer.inlineCallbacks
    def test_two_connections_interleaving_never_share_a_value(self):
        other = yield connected_store(self, self.redis)
        stores = (self.store, other)
        big = source6(NET, {"range": "2001:db8:1::-2001:db8:1:0:ffff:ffff:ffff:ffff"}, NA)
        leases = yield defer.gatherResults([stores[n % 2].offer6(ia(n), big, [], NOW, 60)
                                            for n in range(200)])
        self.assertEqual(len({lease.value for lease in leases}), 200)
        # a small pool, everyone asking for the same value at once: each value goes once
        leases = yield defer.gatherResults([stores[n % 2].offer6(ia(n + 1000), ADDRS, [FIRST],
                                                                 NOW, 60) for n in range(10)])
        given = [lease.value for lease in leases if lease]
        self.assertEqual(sorted(given), [FIRST, SECOND, THIRD])
        # two commits of one value: one binds, the other is refused
        results = yield defer.DeferredList([
            stores[n].commit6(ia(2000 + n, PD), P0, PREFIXES, 3600, NOW) for n in (0, 1)],
            consumeErrors=True)
        self.assertEqual(sorted(ok for ok, _ in results), [False, True])
        failed = next(result for ok, result in results if not ok)
        self.assertTrue(failed.check(Conflict6))


class BoundedAllocation6Tests(unittest.TestCase):
    """What one allocation costs Redis does not grow with the pool: a /64 range and a /40
    pd-pool delegating /56 cost what a range of three does (no walk of the range)."""

    @defer.inlineCallbacks
    def setUp(self):
        self.redis = shared_redis("store6")
        self.redis.flushall()
        self.store = yield connected_store(self, self.redis)

    def commands(self):
        """Commands Redis has run so far (those inside scripts included), less INFO's own."""
        total = 0
        for line in self.redis.cli("INFO", "commandstats").splitlines():
            if line.startswith("cmdstat_") and not line.startswith("cmdstat_info:"):
                total += int(line.split("calls=")[1].split(",")[0])
        return total

    @defer.inlineCallbacks
    def costs(self, source, kind, count, first=0):
        """What each of `count` SOLICITs of new IAs costs, and what each got."""
        yield self.store.offer6(IAKey("ff", 1, kind), source, [], NOW, 60)  # loads the script
        costs, values = [], []
        for n in range(first, first + count):
            before = self.commands()
            lease = yield self.store.offer6(ia(n, kind), source, [], NOW, 60)
            costs.append(self.commands() - before)
            values.append(lease and lease.value)
        return costs, values

    @defer.inlineCallbacks
    def test_a_64_range_and_a_40_pool_of_56s_cost_what_a_tiny_pool_costs(self):
        huge = source6(NET, {"range": "2001:db8:1::-2001:db8:1:0:ffff:ffff:ffff:ffff"}, NA)
        costs, values = yield self.costs(huge, NA, 20)
        self.assertEqual(values, [allocation6.value_at(huge, n) for n in range(1, 21)])
        pool = source6(NET, {"pd-pool": "2001:db8:100::/40 56"}, PD)
        pd_costs, prefixes = yield self.costs(pool, PD, 20, first=100)
        self.assertEqual(prefixes, [allocation6.value_at(pool, n) for n in range(1, 21)])
        self.assertEqual(prefixes[:2], ["2001:db8:100:100::/56", "2001:db8:100:200::/56"])
        self.redis.flushall()
        tiny_costs, _ = yield self.costs(ADDRS, NA, 2)
        self.assertEqual(set(costs) | set(pd_costs), set(tiny_costs))
        self.assertLess(max(costs), 20)

    @defer.inlineCallbacks
    def test_a_full_pool_costs_a_bounded_number_of_commands(self):
        pool = source6(NET, {"range": "2001:db8:1::-2001:db8:1::3f"}, NA)  # 64 addresses
        _, values = yield self.costs(pool, NA, 64)
        self.assertEqual(values[-1], None)  # 63 clients and the script's loader hold it all
        costs, values = yield self.costs(pool, NA, 5, first=100)
        self.assertEqual(values, [None] * 5)
        # each probe: SISMEMBER and HMGET; the cursor's HMGET and HSET; the free list; EVALSHA
        self.assertLessEqual(max(costs), 2 * PROBES + 8)


# The agreement of common6.lua with inventory/allocation6.py

LUA_HELPERS = """
local function hex(g)
  local t = {}
  for i = 1, 8 do t[i] = string.format('%04x', g[i]) end
  return table.concat(t)
end
local function unhex(h)
  return (string.gsub(h, '..', function(x) return string.char(tonumber(x, 16)) end))
end
"""

LUA_TEXTS = LUA_HELPERS + """
local out = {}
for i, text in ipairs(cjson.decode(ARGV[1])) do
  text = unhex(text)
  local g = parse6(text)
  local ranges, pd = {}, {}
  for _, r in ipairs(ranges6_from_text(text)) do
    ranges[#ranges + 1] = hex(r[1]) .. '-' .. hex(r[2])
  end
  local pools, delegated = pd_pool_from_text(text)
  for _, p in ipairs(pools) do pd[#pd + 1] = hex(p[1]) .. '/' .. p[2] end
  out[i] = {parse = g and hex(g) or '', canonical = canonical6(text) or '',
            ranges = table.concat(ranges, ','), pd = table.concat(pd, ','), delegated = delegated,
            host = table.concat(reservations6({ip6 = text, prefix6 = text}), ','),
            network = network6(text) or -1}
end
return cjson.encode(out)
"""

LUA_ARITHMETIC = LUA_HELPERS + """
local out = {}
for i, c in ipairs(cjson.decode(ARGV[1])) do
  local a, b = from_hex6(c.a), from_hex6(c.b)
  out[i] = {text = format6(a), sum = hex(add6(a, tonumber(c.n), c.shift)),
            mask = hex(mask6(a, c.shift)), cmp = cmp6(a, b),
            span = cmp6(a, b) <= 0 and string.format('%.0f', span6(a, b)) or ''}
end
return cjson.encode(out)
"""

LUA_POOL = LUA_HELPERS + """
local source = source6_from(3)
local values, inside = {}, {}
for i, p in ipairs(cjson.decode(ARGV[1])) do values[i] = value_at6(source, tonumber(p)) end
for i, v in ipairs(cjson.decode(ARGV[2])) do inside[i] = in_source6(unhex(v), source) end
return cjson.encode({total = string.format('%.0f', source.total),
                     values = table.concat(values, ' '), inside = inside})
"""

_groups = st.lists(st.one_of(st.just(0), st.just(0xFFFF), st.integers(0, 0xFFFF)),
                   min_size=8, max_size=8)
_numbers = _groups.map(lambda gs: int("".join("%04x" % g for g in gs), 16))


def _spellings(value):
    """Ways to write an address: RFC 5952, exploded, upper case, zeros kept, broken."""
    address = ipaddress.IPv6Address(value)
    bare = ":".join("%x" % int(g, 16) for g in address.exploded.split(":"))
    return st.sampled_from([
        address.compressed, address.exploded, address.compressed.upper(), bare,
        bare.replace(":", "::", 1), bare + "::", "::" + bare,
        address.compressed + ":", ":" + address.compressed, address.compressed + "::1",
        address.exploded[:-1], address.compressed.replace("::", ":::"),
        address.exploded.replace(":", "::", 1), " " + address.compressed,
        address.compressed + "/64", address.compressed + "%eth0",
        "::ffff:192.0.2.1"])


_addresses = _numbers.flatmap(_spellings)
_lengths = st.one_of(st.sampled_from(["0", "1", "64", "127", "128", "129", "0128", "", "1e2",
                                      "99999999999999999999"]), st.integers(0, 140).map(str))
_part = st.one_of(
    _addresses,
    st.tuples(_addresses, st.sampled_from(["-", " - ", "\t-", "--", "-\u00a0"]), _addresses).map(
        "".join),
    st.tuples(_numbers, st.integers(0, 130), st.sampled_from([" ", "  ", "\t", "", " x"]),
              st.integers(0, 130)).map(
        lambda t: "%s/%d%s%d" % (allocation6.format6(allocation6.mask(t[0], min(t[1], 128))),
                                 t[1], t[2], t[3])),
    st.tuples(_addresses, _lengths).map(lambda t: "%s/%s" % t),
    st.text(alphabet="0123456789abcdefABCDEFgx:/-., \t\n", max_size=24))
_texts = st.lists(_part, max_size=4).flatmap(
    lambda parts: st.sampled_from([",", ", ", " ,", ",,"]).map(lambda sep: sep.join(parts)))


class LuaAgrees6Tests(unittest.SynchronousTestCase):
    """common6.lua reads and computes what inventory/allocation6.py does, for any text and any
    address: parse, RFC 5952 text, masks, the 128-bit add, range and pd-pool texts, a pool's
    positions and membership."""

    def setUp(self):
        self.redis = shared_redis("store6")
        self.common = SCRIPTS["lookup6"].rsplit("local hostkey, fields, host", 1)[0]

    def eval(self, body, *args):
        return json.loads(self.redis.cli("EVAL", self.common + body, 0, *args))

    @settings(max_examples=120, deadline=None)
    @given(st.lists(_texts, min_size=1, max_size=10))
    @example(["2001:db8::1-2001:db8::5, 2001:db8:100::/40 56, ::/0 52, 2001:db8:200::/40 60",
              "2001:db8::/129", "::/0128", "2001:db8::/64 129", "::/1 0128"])
    def test_texts_read_alike(self, texts):
        got = self.eval(LUA_TEXTS, json.dumps([t.encode().hex() for t in texts]))
        for text, lua in zip(texts, got):
            try:
                parsed = "%032x" % allocation6.address6(text)
            except ValueError:
                parsed = ""
            prefixes, delegated = allocation6.lenient_pd_pool(text)
            network = allocation6.network6(text)
            expected = {
                "parse": parsed, "canonical": allocation6.canonical(text) or "",
                "ranges": ",".join("%032x-%032x" % r for r in allocation6.lenient_ranges6(text)),
                "pd": ",".join("%032x/%d" % p for p in prefixes), "delegated": delegated,
                "host": ",".join(allocation6.reservations6({"ip6": text, "prefix6": text})),
                "network": network[1] if network else -1}
            self.assertEqual(lua, expected, repr(text))
            if parsed:  # and what Python's own reader says
                self.assertEqual(int(ipaddress.IPv6Address(text)), int(parsed, 16))
            elif set(text) <= set("0123456789abcdefABCDEF:"):
                self.assertRaises(ValueError, ipaddress.IPv6Address, text)

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.tuples(_numbers, _numbers,
                              st.one_of(st.integers(0, CAP), st.integers(CAP - (1 << 40), CAP)),
                              st.integers(0, 127)), min_size=1, max_size=20))
    @example([((1 << 128) - 1, 0, CAP - 1, 15), (0, (1 << 128) - 1, CAP, 127),
              ((1 << 80) - 1, 1 << 80, (1 << 48) + 12345, 79)])
    def test_arithmetic_agrees(self, cases):
        sent = [{"a": "%032x" % a, "b": "%032x" % b, "n": str(n), "shift": shift}
                for a, b, n, shift in cases]
        got = self.eval(LUA_ARITHMETIC, json.dumps(sent))
        for (a, b, n, shift), lua in zip(cases, got):
            self.assertEqual(lua["text"], allocation6.format6(a))
            if (a >> 32) != 0xFFFF:  # Python 3.13 writes IPv4-mapped addresses dotted
                self.assertEqual(lua["text"], ipaddress.IPv6Address(a).compressed)
            self.assertEqual(int(lua["sum"], 16), (a + (n << shift)) % (1 << 128))
            self.assertEqual(int(lua["mask"], 16), allocation6.mask(a, shift))
            self.assertEqual(lua["cmp"], (a > b) - (a < b))
            if a <= b:
                self.assertEqual(int(lua["span"]), min(b - a + 1, CAP))

    @settings(max_examples=60, deadline=None)
    @given(st.one_of(
        st.lists(st.tuples(_numbers, st.integers(0, 1 << 70)), min_size=1, max_size=4).map(
            lambda rs: Source6("p", ranges=tuple((a, min(a + n, (1 << 128) - 1))
                                                 for a, n in rs))),
        st.tuples(st.lists(st.tuples(_numbers, st.integers(0, 127)), min_size=1, max_size=4),
                  st.integers(1, 128)).map(
            lambda t: Source6("p#pd", prefixes=tuple(
                (allocation6.mask(a, min(n, t[1] - 1)), min(n, t[1] - 1)) for a, n in t[0]),
                delegated=t[1]))),
        st.lists(st.integers(0, CAP), max_size=8), st.lists(_numbers, max_size=8))
    def test_a_pools_positions_and_members_agree(self, source, positions, others):
        total = sum(allocation6.sizes(source))
        positions = [p % total for p in positions] + [0, total - 1]
        values = [allocation6.value_at(source, p) for p in positions]
        candidates = values + [allocation6.format6(n) for n in others] + [
            allocation6.format_prefix(allocation6.mask(n, source.delegated), source.delegated)
            for n in others]
        got = self.eval(LUA_POOL, json.dumps([str(p) for p in positions]),
                        json.dumps([c.encode().hex() for c in candidates]),
                        *_source(source))
        self.assertEqual(int(got["total"]), total)
        self.assertEqual(got["values"].split(" "), values)
        self.assertEqual(got["inside"], [allocation6.in_source(c, source) for c in candidates])


class Allocation6Tests(unittest.SynchronousTestCase):
    """The pure rules: strict readers refuse what lenient ones skip; lifetimes."""

    def test_strict_readers_refuse_bad_parts(self):
        for text in ("2001:db8::5-2001:db8::1", "2001:db8::g", "2001:db8::1-", "192.0.2.1"):
            self.assertRaises(ValueError, allocation6.parse_ranges6, text)
        for text in ("2001:db8::/40", "2001:db8::/40 40", "2001:db8::/40 129",
                     "2001:db8::1/40 56", "2001:db8::/40 56, 2001:db9::/40 60"):
            self.assertRaises(ValueError, allocation6.parse_pd_pool, text)
        self.assertEqual(allocation6.parse_ranges6(" 2001:db8::5 , 2001:db8::7 - 2001:db8::9"),
                         ((0x20010DB8 << 96 | 5, 0x20010DB8 << 96 | 5),
                          (0x20010DB8 << 96 | 7, 0x20010DB8 << 96 | 9)))

    def test_a_source_per_kind_or_none(self):
        self.assertEqual(ADDRS.name, NET)
        self.assertEqual((PREFIXES.name, PREFIXES.delegated, len(PREFIXES.prefixes)),
                         (NET + "#pd", 56, 1))
        self.assertIsNone(source6(NET, {"range": "bad"}, NA))
        self.assertIsNone(source6(NET, {"range": FIELDS["range"]}, PD))

    def test_a_64_is_walked_as_its_first_two_to_the_52(self):
        huge = source6(NET, {"range": "2001:db8:1::-2001:db8:1:0:ffff:ffff:ffff:ffff, "
                                      "2001:db8:2::1"}, NA)
        self.assertEqual(allocation6.sizes(huge), [CAP, 0])
        self.assertEqual(allocation6.value_at(huge, CAP - 1), "2001:db8:1:0:f:ffff:ffff:ffff")
        self.assertTrue(allocation6.in_source("2001:db8:1:0:ffff::1", huge))
        self.assertTrue(allocation6.in_source("2001:db8:2::1", huge))

    def test_lifetimes(self):
        self.assertEqual(lifetimes(), allocation6.Lifetimes(43200, 86400, 21600, 34560))
        self.assertEqual(lifetimes({"lease-time": "2h"}, {"valid-lifetime": "1h"}),
                         allocation6.Lifetimes(1800, 3600, 900, 1440))
        self.assertEqual(lifetimes({"valid-lifetime": "bad"}, {"lease-time": "1h"}).valid, 3600)
        self.assertEqual(lifetimes({"preferred-lifetime": "2h", "valid-lifetime": "1h"}),
                         allocation6.Lifetimes(3600, 3600, 1800, 2880))
        self.assertEqual(lifetimes({"t1": "1h", "t2": "30m", "preferred-lifetime": "4h"}),
                         allocation6.Lifetimes(14400, 86400, 1800, 1800))
