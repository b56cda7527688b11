"""OutageCache for DHCPv6: while the store is unreachable, a client it has seen keeps its
leases (renewed for their remaining time only), a reserved host its reservation, and new
values wait for the store; by DHCPv4's rules (tests/test_cache.py)."""

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial import unittest

from apidhcpd.dhcp6 import duid as duids
from apidhcpd.dhcp6.ia import IA_NA, IA_PD
from apidhcpd.dhcp6.options import MessageType as T
from apidhcpd.inventory.allocation6 import source6
from apidhcpd.store.contract import StoreUnavailable
from apidhcpd.store.contract6 import NA, PD, IAKey, IStore6
from apidhcpd.store.outage import OutageCache
from tests.dhcp6util import (
    CLIENT,
    INVENTORY,
    LINK,
    MAC,
    NOW,
    POLICY,
    RESERVED_MAC,
    SERVER_DUID,
    Rig,
    Store6,
    inventory,
    message,
    na,
    pd,
)
from tests.test_dhcp6_server import addresses, prefixes

DUID = CLIENT.hex()
KEYS = ["duid:" + DUID, "mac:" + MAC]
RESERVED = duids.duid_ll(RESERVED_MAC)
RESERVED_KEYS = ["duid:" + RESERVED.hex(), "mac:" + RESERVED_MAC]
SUBNET = dict(INVENTORY)["subnet6:2001:db8:1::/64"]
ADDRESSES = source6("2001:db8:1::/64", SUBNET, NA)
PREFIXES = source6("2001:db8:1::/64", SUBNET, PD)
ON_LINK = "2001:db8:1::1"


class StoreLevelTests(unittest.SynchronousTestCase):
    """The IStore6 calls of OutageCache over a memory store that can be switched off."""

    def setUp(self):
        self.clock = Clock()
        self.clock.advance(NOW)
        self.backend = Store6()
        inventory(self.backend)
        self.cache = OutageCache(self.backend, self.clock, timeout=1.0)

    def lookup6(self, keys=KEYS, now=NOW):
        return self.cache.lookup6(keys, now, ON_LINK)

    def bind(self, ia=None, source=ADDRESSES, now=NOW, keys=KEYS):
        """What a REQUEST does: lookup6, offer6, commit6 for one hour."""
        ia = ia or IAKey(DUID, 1, NA)
        self.successResultOf(self.lookup6(keys, now))
        offered = self.successResultOf(self.cache.offer6(ia, source, (), now, 60))
        return self.successResultOf(self.cache.commit6(ia, offered.value, source, 3600, now))

    def test_it_provides_istore6_when_the_store_does(self):
        from apidhcpd.store.memory import MemoryStore
        self.assertTrue(IStore6.providedBy(OutageCache(MemoryStore(), self.clock)))

    def test_a_bound_lease_is_served_for_its_remaining_time_only(self):
        ia = IAKey(DUID, 1, NA)
        lease = self.bind(ia)
        self.backend.down = True
        later = NOW + 1000
        found = self.successResultOf(self.lookup6(now=later))
        self.assertEqual((found.subnet, found.group_name, self.cache.served),
                         ("2001:db8:1::/64", "default", 1))
        self.assertEqual(self.successResultOf(self.cache.leases6_of(DUID, later)), [lease])
        renewed = self.successResultOf(self.cache.commit6(ia, lease.value, ADDRESSES, 3600,
                                                          later))
        self.assertEqual((renewed.value, renewed.expires), (lease.value, NOW + 3600))
        offered = self.successResultOf(self.cache.offer6(ia, ADDRESSES, (), later, 60))
        self.assertEqual(offered.value, lease.value)
        other = "2001:db8:1::102" if lease.value != "2001:db8:1::102" else "2001:db8:1::101"
        self.failureResultOf(self.cache.commit6(ia, other, ADDRESSES, 3600, later),
                             StoreUnavailable)
        self.failureResultOf(self.cache.offer6(IAKey(DUID, 2, NA), ADDRESSES, (), later, 60),
                             StoreUnavailable)  # a new value waits for the store
        self.failureResultOf(self.cache.offer6(ia, PREFIXES, (), later, 60), StoreUnavailable)
        ended = NOW + 3600
        self.failureResultOf(self.lookup6(now=ended), StoreUnavailable)
        self.failureResultOf(self.cache.leases6_of(DUID, ended), StoreUnavailable)
        self.failureResultOf(self.cache.commit6(ia, lease.value, ADDRESSES, 3600, ended),
                             StoreUnavailable)

    def test_a_requests_bind6_is_served_for_what_the_ia_holds(self):
        ia = IAKey(DUID, 1, NA)
        self.successResultOf(self.lookup6())
        lease = self.successResultOf(self.cache.bind6(ia, ADDRESSES, (), 3600, NOW))
        self.assertEqual((lease.state, lease.expires), ("bound", NOW + 3600))
        self.backend.down = True
        self.successResultOf(self.lookup6(now=NOW + 100))  # kept since bind6 bound it
        self.clock.advance(1.0)  # the store is asked again (and fails), not skipped
        again = self.successResultOf(self.cache.bind6(ia, ADDRESSES, (), 3600, NOW + 100))
        self.assertEqual(again, lease)  # not extended
        self.failureResultOf(self.cache.bind6(IAKey(DUID, 2, NA), ADDRESSES, (), 3600,
                                              NOW + 100), StoreUnavailable)
        self.failureResultOf(self.cache.bind6(ia, PREFIXES, (), 3600, NOW + 100),
                             StoreUnavailable)

    def test_every_ia_of_a_client_is_kept(self):
        na_lease = self.bind(IAKey(DUID, 1, NA))
        pd_lease = self.bind(IAKey(DUID, 2, PD), PREFIXES)
        self.backend.down = True
        self.successResultOf(self.lookup6(now=NOW + 10))
        self.assertEqual(sorted(self.successResultOf(self.cache.leases6_of(DUID, NOW + 10)),
                                key=lambda lease: lease.ia.iaid), [na_lease, pd_lease])
        self.assertEqual(self.successResultOf(self.cache.commit6(
            IAKey(DUID, 2, PD), pd_lease.value, PREFIXES, 3600, NOW + 10)), pd_lease)

    def test_clients_it_has_not_seen_bound_get_nothing(self):
        self.successResultOf(self.lookup6())
        self.successResultOf(self.cache.offer6(IAKey(DUID, 1, NA), ADDRESSES, (), NOW, 60))
        self.backend.down = True  # offered, never bound
        self.failureResultOf(self.lookup6(), StoreUnavailable)
        self.failureResultOf(self.cache.leases6_of(DUID, NOW), StoreUnavailable)
        other = ["duid:000300010200000009ff"]
        self.failureResultOf(self.lookup6(other), StoreUnavailable)

    def test_a_reserved_host_keeps_its_reservation_with_its_lifetimes(self):
        ia = IAKey(RESERVED.hex(), 1, NA)
        self.successResultOf(self.lookup6(RESERVED_KEYS))
        self.backend.down = True
        found = self.successResultOf(self.lookup6(RESERVED_KEYS, NOW + 5))
        self.assertEqual(found.host.fields["ip6"], "2001:db8:1::10")
        # no lease known: not "none" (NoBinding), but a wait for the store
        self.failureResultOf(self.cache.leases6_of(RESERVED.hex(), NOW + 5), StoreUnavailable)
        lease = self.successResultOf(self.cache.commit6_reserved(ia, "2001:db8:1:0::10", 3600,
                                                                 NOW + 5))
        self.assertEqual((lease.value, lease.expires), ("2001:db8:1::10", NOW + 5 + 3600))
        self.failureResultOf(self.cache.commit6_reserved(ia, "2001:db8:1::11", 3600, NOW + 5),
                             StoreUnavailable)
        self.cache.answer_ttl = 100
        self.backend.down = False
        self.successResultOf(self.lookup6(RESERVED_KEYS, NOW + 10))
        self.backend.down = True
        self.failureResultOf(self.lookup6(RESERVED_KEYS, NOW + 110), StoreUnavailable)

    def test_what_leases6_of_tells_is_kept(self):
        """A server restarted: the client's next RENEW teaches it the client's leases."""
        lease = self.bind(IAKey(DUID, 1, NA))
        self.cache = OutageCache(self.backend, self.clock, timeout=1.0)
        self.successResultOf(self.lookup6(now=NOW + 10))
        self.successResultOf(self.cache.leases6_of(DUID, NOW + 10))
        self.backend.down = True
        self.successResultOf(self.lookup6(now=NOW + 20))
        self.assertEqual(self.successResultOf(self.cache.commit6(
            IAKey(DUID, 1, NA), lease.value, ADDRESSES, 3600, NOW + 20)), lease)

    def test_a_release_or_decline_ends_what_is_kept(self):
        for end in ("release6", "decline6"):
            ia = IAKey(DUID, 1, NA)
            lease = self.bind(ia)
            args = (ia, lease.value, NOW) + ((60,) if end == "decline6" else ())
            self.assertTrue(self.successResultOf(getattr(self.cache, end)(*args)))
            self.backend.down = True
            self.failureResultOf(self.lookup6(), StoreUnavailable)
            self.failureResultOf(self.cache.commit6(ia, lease.value, ADDRESSES, 3600, NOW),
                                 StoreUnavailable)
            self.backend.down = False
            self.assertEqual((len(self.cache._answers6), len(self.cache._leases6)), (0, 0))

    def test_a_store_that_stops_answering_counts_as_down_once_per_timeout(self):
        ia = IAKey(DUID, 1, NA)
        lease = self.bind(ia)
        self.backend.hang = True
        found = self.lookup6(now=NOW + 1)
        self.assertNoResult(found)
        self.clock.advance(1.0)
        self.successResultOf(found)
        # the calls after it do not wait again: straight to what is kept
        self.assertEqual(self.successResultOf(self.cache.leases6_of(DUID, NOW + 1)), [lease])
        self.successResultOf(self.cache.commit6(ia, lease.value, ADDRESSES, 3600, NOW + 1))
        self.clock.advance(1.0)
        self.assertNoResult(self.cache.leases6_of(DUID, NOW + 2))  # asked again

    def test_the_store_back_extends_the_lease_again(self):
        ia = IAKey(DUID, 1, NA)
        lease = self.bind(ia)
        self.backend.down = True
        self.successResultOf(self.cache.commit6(ia, lease.value, ADDRESSES, 3600, NOW + 100))
        self.backend.down = False
        self.successResultOf(self.lookup6(now=NOW + 100))  # it reaches the store again
        renewed = self.successResultOf(self.cache.commit6(ia, lease.value, ADDRESSES, 3600,
                                                          NOW + 100))
        self.assertEqual(renewed.expires, NOW + 100 + 3600)
        self.assertEqual(self.backend.lease(ia).expires, NOW + 100 + 3600)
        self.backend.down = True
        self.assertEqual(self.successResultOf(self.cache.leases6_of(DUID, NOW + 200)),
                         [renewed])


class ExchangeTests(unittest.TestCase):
    """Whole DHCPv6 exchanges through DHCP6Server over OutageCache over a store that goes
    down."""

    def setUp(self):
        self.backend = Store6()
        inventory(self.backend)
        clock = Clock()
        clock.advance(NOW)
        self.cache = OutageCache(self.backend, clock, timeout=1.0)
        self.rig = Rig(self, store=self.cache, clock=clock)

    def ask(self, packet):
        return self.rig.ask(packet)

    def bind(self, *ias, client=CLIENT):
        advertise = self.ask(message(T.SOLICIT, *ias, client=client))
        offered = [ia for code in (IA_NA, IA_PD) for ia in advertise.ias(code)]
        return self.ask(message(T.REQUEST, *offered, client=client, server=SERVER_DUID))

    def test_renew_and_rebind_through_an_outage_keep_the_values_for_their_remaining_time(self):
        reply = self.bind(na(1), pd(2))
        (ia_na,), (ia_pd,) = reply.ias_na, reply.ias_pd
        address, prefix = addresses(ia_na)[0][0], prefixes(ia_pd)[0][0]
        self.backend.down = True
        self.rig.clock.advance(1000)
        for kind, server in ((T.RENEW, SERVER_DUID), (T.REBIND, None)):
            answer = self.ask(message(kind, ia_na, ia_pd, server=server))
            self.assertEqual(answer.msg_type, T.REPLY)
            self.assertEqual(addresses(answer.ias_na[0]), [(address, 1800, 2600)])
            self.assertEqual(prefixes(answer.ias_pd[0]), [(prefix, 1800, 2600)])
        advertise = self.ask(message(T.SOLICIT, na(1), pd(2)))  # a reboot: what it holds
        self.assertEqual(addresses(advertise.ias_na[0])[0][0], address)
        request = self.ask(message(T.REQUEST, *advertise.ias_na, *advertise.ias_pd,
                                   server=SERVER_DUID))
        self.assertEqual(addresses(request.ias_na[0]), [(address, 1800, 2600)])
        self.assertEqual(prefixes(request.ias_pd[0]), [(prefix, 1800, 2600)])
        self.assertGreaterEqual(self.cache.served, 3)
        self.rig.clock.advance(2600)  # the leases ended: nothing more
        self.assertIsNone(self.ask(message(T.RENEW, ia_na, ia_pd, server=SERVER_DUID)))

    def test_new_clients_and_new_ias_wait_for_the_store(self):
        reply = self.bind(na(1))
        self.backend.down = True
        other = duids.duid_ll("02:00:00:00:01:77")
        self.assertIsNone(self.ask(message(T.SOLICIT, na(1), client=other)))
        self.assertIsNone(self.ask(message(T.REQUEST, reply.ias_na[0], pd(5),
                                           server=SERVER_DUID)))
        self.backend.down = False
        self.assertEqual(self.ask(message(T.SOLICIT, na(1), client=other)).msg_type,
                         T.ADVERTISE)

    def test_a_reserved_host_is_answered_through_an_outage(self):
        reply = self.bind(na(1), pd(1), client=RESERVED)
        self.assertEqual(addresses(reply.ias_na[0])[0][0], "2001:db8:1::10")
        self.backend.down = True
        self.rig.clock.advance(1000)
        renewed = self.ask(message(T.RENEW, *reply.ias_na, *reply.ias_pd, client=RESERVED,
                                   server=SERVER_DUID))
        self.assertEqual(addresses(renewed.ias_na[0]), [("2001:db8:1::10", 1800, 3600)])
        self.assertEqual(prefixes(renewed.ias_pd[0]), [("2001:db8:200::/56", 1800, 3600)])
        info = self.ask(message(T.INFORMATION_REQUEST, client=RESERVED))
        self.assertEqual(info.msg_type, T.REPLY)

    def test_service_resumes_when_the_store_returns(self):
        reply = self.bind(na(1))
        self.backend.down = True
        self.rig.clock.advance(100)
        self.ask(message(T.RENEW, *reply.ias_na, server=SERVER_DUID))
        self.backend.down = False
        self.rig.clock.advance(100)
        renewed = self.ask(message(T.RENEW, *reply.ias_na, server=SERVER_DUID))
        self.assertEqual(addresses(renewed.ias_na[0])[0][1:], (1800, 3600))
        self.assertEqual(self.backend.lease(IAKey(DUID, 1, NA)).expires, NOW + 200 + 3600)


class BoundTests(unittest.SynchronousTestCase):
    """What is kept: only what can serve in an outage, for as long as it can, within caps."""

    def setUp(self):
        self.clock = Clock()
        self.clock.advance(NOW)
        self.backend = Store6()
        inventory(self.backend)
        self.backend.hset("subnet6:2001:db8:1::/64", range="2001:db8:1::100-2001:db8:1::1ff")
        self.cache = OutageCache(self.backend, self.clock, timeout=1.0, size=3)

    def client(self, n):
        return "000300010200000a%04x" % n

    def bind(self, n, now=NOW):
        duid = self.client(n)
        keys = ["duid:" + duid]
        self.successResultOf(self.cache.lookup6(keys, now, ON_LINK))
        source = source6("2001:db8:1::/64", self.backend.memory.data[
            "subnet6:2001:db8:1::/64"], NA)
        offered = self.successResultOf(self.cache.offer6(IAKey(duid, 1, NA), source, (), now,
                                                         60))
        self.successResultOf(self.cache.commit6(IAKey(duid, 1, NA), offered.value, source,
                                                600, now))
        return keys

    def test_a_flood_of_clients_without_a_lease_leaves_no_answer(self):
        for n in range(100):
            self.successResultOf(self.cache.lookup6(["duid:" + self.client(n)], NOW, ON_LINK))
        self.assertEqual((len(self.cache._answers6), len(self.cache._leases6)), (0, 0))
        self.assertEqual(len(self.cache._pending6), 1)  # a tenth of the caps

    def test_the_least_recently_seen_go_first(self):
        clients = [self.bind(n) for n in range(3)]
        self.successResultOf(self.cache.lookup6(clients[0], NOW, ON_LINK))  # seen again
        self.bind(3)
        self.backend.down = True
        for keys, served in zip(clients, (True, False, True)):
            found = self.cache.lookup6(keys, NOW, ON_LINK)
            if served:
                self.successResultOf(found)
            else:
                self.failureResultOf(found, StoreUnavailable)

    def test_a_lease_is_kept_until_it_ends(self):
        self.bind(1)
        later = self.bind(2, now=NOW + 700)  # the first lease ended (600 s): it goes
        self.bind(3, now=NOW + 700)
        self.assertEqual(list(self.cache._answers6.entries), [later[0], "duid:" + self.client(3)])
        self.assertEqual(len(self.cache._leases6), 2)

    def test_bytes_are_capped_too(self):
        cache = OutageCache(self.backend, self.clock, size=1000, max_bytes=8000)
        wide = source6("2001:db8:1::/64", self.backend.memory.data["subnet6:2001:db8:1::/64"],
                       NA)
        for n in range(50):
            keys = ["duid:" + "%04x" % n * 65, "mac:02:00:00:00:0d:%02x" % n]  # 260 bytes
            self.successResultOf(cache.lookup6(keys, NOW, ON_LINK))
            self.successResultOf(cache.commit6(IAKey(keys[0][5:], 1, NA),
                                               "2001:db8:1::%x" % (0x100 + n), wide,
                                               3600, NOW))
        self.assertLessEqual(cache._answers6.bytes, 8000)
        self.assertLessEqual(cache._leases6.bytes, 4000)
        self.assertLessEqual(cache._pending6.bytes, 800)
        self.assertLess(len(cache._answers6), 50)
        self.assertGreater(len(cache._answers6), 5)


class StackBoundTests(unittest.TestCase):
    """Many clients with the largest DUIDs (130 bytes) through the server and both caches:
    every DHCPv6 structure of the outage cache stays within its caps (as DHCPv4's,
    tests/test_cache.py BoundedMemoryTests)."""

    ENTRIES, BYTES = 50, 16_000

    def setUp(self):
        from apidhcpd.store.inventorycache import InventoryCache
        from tests.test_inventorycache6 import CountingStore6
        clock = Clock()
        clock.advance(NOW)
        self.store = CountingStore6()
        for key, fields in INVENTORY:
            self.store.put(key, fields)
        self.store.put("subnet6:2001:db8:1::/64", {"range": "2001:db8:1::1000-2001:db8:1::ffff",
                                                   "valid-lifetime": "1h"})
        caps = {"size": self.ENTRIES, "max_bytes": self.BYTES}
        self.inventory = InventoryCache(self.store, clock, ttl=60, **caps)
        self.inventory.connect()
        self.addCleanup(self.inventory.disconnect)
        self.outage = OutageCache(self.inventory, clock, timeout=1.0, **caps)
        self.rig = Rig(self, store=self.outage, clock=clock, limits=None)

    def test_every_structure_stays_within_its_caps(self):
        from tests.test_cache import held
        answered = 0
        for n in range(300):
            client = bytes.fromhex("0002") + n.to_bytes(4, "big") * 32  # a DUID-EN, 130 bytes
            advertise = self.rig.ask(message(T.SOLICIT, na(1), client=client))
            reply = advertise and self.rig.ask(message(T.REQUEST, *advertise.ias_na,
                                                       client=client, server=SERVER_DUID))
            answered += bool(reply and addresses(reply.ias_na[0]))
            if n % 2:
                self.rig.ask(message(T.RELEASE, *reply.ias_na, client=client,
                                     server=SERVER_DUID))
            if n % 25 == 24:
                entries, size = held(self.outage, stop=(self.store, self.inventory,
                                                        self.rig.clock))
                self.assertLessEqual(entries, self.ENTRIES)
                self.assertLessEqual(size, 2 * self.BYTES)
        self.assertEqual(answered, 300)
        answers = self.outage._answers6  # full (the bytes bind first here), not flushed
        self.assertGreater(answers.bytes, self.BYTES // 2)
        self.assertGreater(len(answers), self.ENTRIES // 2)


class RedisOutageTests(unittest.TestCase):
    """A real Redis stopped under the whole stack (RedisStore, InventoryCache, OutageCache,
    DHCP6Server on the reactor): a known DHCPv6 client renews, a new one waits, and service
    resumes when Redis is back."""

    timeout = 60

    @defer.inlineCallbacks
    def setUp(self):
        from twisted.internet import reactor

        from apidhcpd.dhcp6.server import DHCP6Server
        from apidhcpd.store.inventorycache import InventoryCache
        from tests.redisserver import RedisServer, _find
        from tests.stores import connected_store
        if not _find("redis-server"):
            raise unittest.SkipTest("redis-server not installed")
        self.redis = RedisServer(config=["appendonly yes", "appendfsync always"]).start()
        self.addCleanup(self.redis.stop)
        self.store = yield connected_store(self, self.redis, timeout=0.5)
        for key, fields in INVENTORY:
            yield self.store.put(key, fields)
        self.inventory = InventoryCache(self.store, reactor, ttl=60)
        self.store.watch(self.inventory._changed, self.inventory._watch_state)
        self.cache = OutageCache(self.inventory, reactor, timeout=0.5)
        self.now = int(reactor.seconds())  # the server's clock, moved by the test
        self.server = DHCP6Server(self.cache, POLICY, reactor, now=lambda: self.now)
        yield self.until(lambda: self.inventory._groups is not None)

    @defer.inlineCallbacks
    def until(self, condition, seconds=15):
        from tests.stores import sleep
        for _ in range(int(seconds / 0.05)):
            if condition():
                return
            yield sleep(0.05)
        self.fail("not within %ss" % seconds)

    def ask(self, packet):
        return self.server.handle(packet, LINK)

    @defer.inlineCallbacks
    def test_a_known_client_renews_while_redis_is_stopped(self):
        advertise = yield self.ask(message(T.SOLICIT, na(1)))
        reply = yield self.ask(message(T.REQUEST, *advertise.ias_na, server=SERVER_DUID))
        ((address, _, valid),) = addresses(reply.ias_na[0])
        self.assertEqual(valid, 3600)
        hits = self.inventory.cache_stats["hits6"]
        self.assertGreaterEqual(hits, 1)  # the REQUEST's lookup came from memory

        self.redis.pause()
        yield self.until(lambda: not self.store.connected)
        self.now += 1000
        renewed = yield self.ask(message(T.RENEW, *reply.ias_na, server=SERVER_DUID))
        self.assertIsNotNone(renewed)
        self.assertEqual(addresses(renewed.ias_na[0]), [(address, 1800, 2600)])  # not extended
        self.assertGreaterEqual(self.cache.served, 1)
        newcomer = yield self.ask(message(T.SOLICIT, na(1),
                                          client=duids.duid_ll("02:00:00:00:01:78")))
        self.assertIsNone(newcomer)

        self.redis.resume()
        yield self.until(lambda: self.store.connected)
        self.assertEqual(self.redis.cli("HGET", "lease6:" + address, "duid").strip(), DUID)
        back = yield self.ask(message(T.SOLICIT, na(1),
                                      client=duids.duid_ll("02:00:00:00:01:78")))
        self.assertEqual(back.msg_type, T.ADVERTISE)
        self.assertNotEqual(addresses(back.ias_na[0])[0][0], address)
