"""A hostile LAN against the real allocation path: DHCPServer over RedisStore (and the
inventory cache) on a real redis-server, with crafted requests (issue 10, items 1, 4, 5, 7)."""

import ipaddress

from twisted.internet import defer, reactor
from twisted.trial import unittest

from apidhcpd.dhcp4 import options as opt
from apidhcpd.dhcp4.profile import Link
from apidhcpd.dhcp4.server import DHCPServer
from apidhcpd.dhcp4.transaction import Policy
from apidhcpd.store.inventorycache import InventoryCache
from tests.redisserver import shared_redis
from tests.stores import connected_store, sleep
from tests.test_server import request

SERVER = "192.0.2.1"
LINK = Link(SERVER, ipaddress.IPv4Network("192.0.2.0/24"))
VICTIM, ATTACKER, OTHER = "02:00:00:00:0a:01", "02:00:00:00:0a:02", "02:00:00:00:0a:03"
RESERVED = "02:00:00:00:0a:10"


class HostileTestsMixin:
    """Each test runs against a fresh Redis holding a three-address pool."""

    cached = False

    @defer.inlineCallbacks
    def setUp(self):
        self.redis = shared_redis("hostile-store")
        self.redis.flushall()
        self.redis.cli("HSET", "group:default", "gateway", SERVER, "prefix", "24",
                       "lease-time", "1h")
        self.redis.cli("HSET", "group:pool", "gateway", SERVER, "prefix", "24",
                       "lease-time", "30m", "range", "192.0.2.100-192.0.2.102")
        self.redis.cli("HSET", "mac:" + RESERVED, "ip", "192.0.2.101", "hostname", "printer")
        store = yield connected_store(self, self.redis)
        if self.cached:
            store = InventoryCache(store, reactor, ttl=60)
            store._store.watch(store._changed, store._watch_state)
            for _ in range(100):
                if store.watching and store._groups is not None:
                    break
                yield sleep(0.02)
        self.store = store
        self.server = DHCPServer(store, Policy(server_id=SERVER), reactor)

    def ask(self, msg):
        return self.server.handle(msg, LINK)

    def keys(self, pattern="*"):
        return sorted(self.redis.cli("KEYS", pattern).split())

    def hget(self, key, field):
        return self.redis.cli("HGET", key, field).strip()

    @defer.inlineCallbacks
    def dora(self, mac):
        offer = yield self.ask(request(opt.DISCOVER, mac))
        ack = yield self.ask(request(opt.REQUEST, mac, o50=offer.yiaddr, o54=SERVER))
        self.assertEqual(ack.message_type, opt.ACK)
        return ack.yiaddr

    def dropped(self, kind):
        return self.server.counters.get(("dropped", kind), 0)

    # item 1: DECLINE

    @defer.inlineCallbacks
    def test_a_decline_from_another_client_leaves_the_lease_alone(self):
        taken = yield self.dora(VICTIM)
        reply = yield self.ask(request(opt.DECLINE, ATTACKER, o50=taken, o54=SERVER))
        self.assertIsNone(reply)
        self.assertEqual(self.hget("lease:" + taken, "mac"), VICTIM)
        self.assertEqual(self.dropped("decline-not-held"), 1)
        renew = yield self.ask(request(opt.REQUEST, VICTIM, ciaddr=taken))
        self.assertEqual((renew.message_type, renew.yiaddr), (opt.ACK, taken))

    @defer.inlineCallbacks
    def test_a_decline_of_an_address_nobody_holds_stores_nothing(self):
        before = self.keys()
        for address in ("8.8.8.8", "0.0.0.0", "192.0.2.102", "192.0.2.101"):
            self.assertIsNone((yield self.ask(request(opt.DECLINE, ATTACKER, o50=address))))
        self.assertEqual(self.keys(), before)
        self.assertEqual(self.dropped("decline-not-held"), 4)

    @defer.inlineCallbacks
    def test_the_holders_decline_still_quarantines(self):
        taken = yield self.dora(VICTIM)
        yield self.ask(request(opt.DECLINE, VICTIM, o50=taken, o54=SERVER))
        self.assertEqual(self.hget("lease:" + taken, "state"), "declined")
        offer = yield self.ask(request(opt.DISCOVER, VICTIM))
        self.assertNotEqual(offer.yiaddr, taken)

    # item 7: INIT-REBOOT from a client we have no record of

    @defer.inlineCallbacks
    def test_init_reboot_of_an_unknown_client_is_silent_and_binds_nothing(self):
        reply = yield self.ask(request(opt.REQUEST, ATTACKER, o50="192.0.2.100"))
        self.assertIsNone(reply)
        self.assertEqual(self.keys("lease:*"), [])
        offer = yield self.ask(request(opt.DISCOVER, OTHER))
        self.assertEqual(offer.yiaddr, "192.0.2.100")

    @defer.inlineCallbacks
    def test_init_reboot_of_a_client_with_its_lease_is_acked(self):
        taken = yield self.dora(VICTIM)
        ack = yield self.ask(request(opt.REQUEST, VICTIM, o50=taken))
        self.assertEqual((ack.message_type, ack.yiaddr), (opt.ACK, taken))

    @defer.inlineCallbacks
    def test_renewing_an_address_without_a_record_is_silent(self):
        reply = yield self.ask(request(opt.REQUEST, ATTACKER, ciaddr="192.0.2.102"))
        self.assertIsNone(reply)
        self.assertEqual(self.keys("lease:*"), [])

    # item 4: a dynamic client's mac: record does not outlive its lease

    @defer.inlineCallbacks
    def test_a_dynamic_clients_record_expires_after_its_lease_and_grace(self):
        yield self.dora(VICTIM)
        ttl = int(self.redis.cli("TTL", "mac:" + VICTIM))
        self.assertTrue(1800 < ttl <= 1800 + 86400, ttl)
        self.assertEqual(self.hget("mac:" + VICTIM, "description"), "dynamic:")
        self.assertEqual(int(self.redis.cli("TTL", "mac:" + RESERVED)), -1)

    # item 5: reservations

    @defer.inlineCallbacks
    def test_a_leftover_last_seen_record_does_not_hide_a_port_reservation(self):
        self.redis.cli("HSET", "mac:" + OTHER, "ts", "12345")
        self.redis.cli("HSET", "relay:switch1/port7", "ip", "192.0.2.50")
        msg = request(opt.DISCOVER, OTHER, giaddr="192.0.2.254",
                      o82=[(1, b"switch1/port7")])
        offer = yield self.ask(msg)
        self.assertEqual(offer.yiaddr, "192.0.2.50")

    @defer.inlineCallbacks
    def test_a_reserved_address_another_client_holds_is_not_acked(self):
        # a dynamic client got .100 before an operator reserved it for RESERVED2
        taken = yield self.dora(VICTIM)
        self.redis.cli("HSET", "mac:02:00:00:00:0a:11", "ip", taken)
        if self.cached:
            self.redis.cli("PUBLISH", "apidhcpd:inventory", "mac:02:00:00:00:0a:11")
            yield sleep(0.1)
        offer = yield self.ask(request(opt.DISCOVER, "02:00:00:00:0a:11"))
        self.assertIsNone(offer)
        ack = yield self.ask(request(opt.REQUEST, "02:00:00:00:0a:11", o50=taken))
        self.assertIsNone(ack)
        self.assertEqual(self.dropped("reserved-conflict"), 2)
        # the holder loses it at its renewal: the address is reserved now
        renew = yield self.ask(request(opt.REQUEST, VICTIM, ciaddr=taken))
        self.assertEqual(renew.message_type, opt.NAK)


class HostileRedisTests(HostileTestsMixin, unittest.TestCase):
    pass


class HostileCachedTests(HostileTestsMixin, unittest.TestCase):
    cached = True


class ReservedIndexTests(unittest.TestCase):
    """The `reserved` index: every kind of reservation, rebuilt without losing concurrent
    writes, one staging key per run."""

    @defer.inlineCallbacks
    def setUp(self):
        self.redis = shared_redis("hostile-store")
        self.redis.flushall()
        self.store = yield connected_store(self, self.redis)

    def members(self):
        return sorted(self.redis.cli("SMEMBERS", "reserved").split())

    @defer.inlineCallbacks
    def test_rebuild_indexes_every_kind_of_reservation(self):
        for key, ip in (("mac:02:00:00:00:0b:01", "192.0.2.10"), ("client:abc", "192.0.2.11"),
                        ("relay:switch1/port7", "192.0.2.12"), ("remote:0a0b", "192.0.2.13")):
            self.redis.cli("HSET", key, "ip", ip)
        self.redis.cli("HSET", "mac:02:00:00:00:0b:02", "ip", "192.0.2.14", "dynamic", "1")
        self.redis.cli("SADD", "reserved", "192.0.2.99")  # stale: nobody reserves it
        yield self.store.refresh_reserved()
        self.assertEqual(self.members(), ["192.0.2.10", "192.0.2.11", "192.0.2.12",
                                          "192.0.2.13"])
        self.assertEqual(self.redis.cli("KEYS", "reserved:*").split(), [])

    @defer.inlineCallbacks
    def test_reservations_changed_during_a_rebuild_are_kept(self):
        self.redis.cli("EVAL", "for i = 1, 5000 do redis.call('HSET', 'mac:02:00:00:01:' .. i,"
                       " 'ip', '198.51.100.' .. (i % 250)) end", "0")
        rebuild = self.store.refresh_reserved()
        moves = 0
        while not rebuild.called:
            moves += 1
            yield self.store.put("mac:02:00:00:00:0c:01", {"ip": "203.0.113.%d" % moves})
        yield rebuild
        self.assertGreater(moves, 1)
        mine = [ip for ip in self.members() if ip.startswith("203.0.113.")]
        self.assertEqual(mine, ["203.0.113.%d" % moves])


class BoundedAllocationTests(unittest.TestCase):
    """Item 6: what one allocation costs Redis does not grow with the pool, and no client can
    make it walk the pool (a RELEASE used to clear the `exhausted` guard)."""

    RANGES = "192.0.2.0-192.0.2.255, 198.51.100.0-198.51.100.255, 203.0.113.0-203.0.113.255"

    @defer.inlineCallbacks
    def setUp(self):
        self.redis = shared_redis("hostile-store")
        self.redis.flushall()
        self.store = yield connected_store(self, self.redis)

    def commands(self, *names):
        """Commands Redis has run so far (those inside scripts included), less INFO's own;
        only those `names` when given."""
        total = 0
        for line in self.redis.cli("INFO", "commandstats").splitlines():
            name = line.partition(":")[0][len("cmdstat_"):]
            if line.startswith("cmdstat_") and name != "info" and (not names or name in names):
                total += int(line.split("calls=")[1].split(",")[0])
        return total

    @defer.inlineCallbacks
    def test_a_discover_on_a_full_pool_costs_a_few_commands_even_after_a_release(self):
        from apidhcpd.inventory import allocation
        from apidhcpd.store.contract import AddressSource
        source = AddressSource("big", allocation.parse_ranges(self.RANGES))
        macs = ["02:00:00:01:%02x:%02x" % divmod(i, 256) for i in range(768)]
        for mac in macs:
            ip = yield self.store.offer(mac, source, None, 1000, 60)
            yield self.store.commit(mac, ip, source, 3600, 1000, state="SELECTING")
        self.assertIsNone((yield self.store.offer("02:00:00:02:00:00", source, None, 1000, 60)))
        costs = []
        for i in range(20):
            # a client releases and takes its address back, as an attacker would, each time
            held = yield self.store.lease_of(macs[i], 1001)
            yield self.store.release(macs[i], held.ip, 1001)
            yield self.store.offer(macs[i], source, held.ip, 1001, 60)
            before = self.commands()
            got = yield self.store.offer("02:00:00:02:00:%02x" % i, source, None, 1001, 60)
            costs.append(self.commands() - before)
            self.assertIsNone(got)
        self.assertLess(max(costs), 60, costs)

    @defer.inlineCallbacks
    def test_a_discover_reads_a_few_entries_of_a_full_seed_pool_hash(self):
        from apidhcpd.store.contract import AddressSource
        self.redis.cli("EVAL", "for i = 0, 767 do redis.call('HSET', 'pool', '198.51.100.' .."
                       " (i % 256) .. '/' .. i, 'aa:bb:cc:00:00:01') end", "0")
        self.redis.cli("HSET", "pool", "203.0.113.7", "")
        source = AddressSource("pool", (), seed_pool=True)
        found, costs = set(), []
        whole = self.commands("hgetall", "hkeys", "hvals")
        for i in range(20):
            before = self.commands()
            got = yield self.store.offer("02:00:00:03:00:%02x" % i, source, None, 1000, 60)
            costs.append(self.commands() - before)
            found.add(got)
            if got:
                yield self.store.release_offer("02:00:00:03:00:%02x" % i)
        self.assertIn("203.0.113.7", found)
        self.assertLess(max(costs), 60, costs)
        # no call read the whole hash: a page of it at a time (HSCAN)
        self.assertEqual(self.commands("hgetall", "hkeys", "hvals"), whole)
