"""Client classes: what each match field matches (dhcp4/classes.py), the one precedence rule
(group:default < subnet < group < classes by priority < host) on the memory store, on a real
Redis and through the inventory cache, and the cache dropping a changed class."""

import ipaddress

from twisted.internet import defer, reactor
from twisted.trial import unittest

from apidhcpd.dhcp4 import classes
from apidhcpd.dhcp4.message import Message
from apidhcpd.dhcp4.profile import Link
from apidhcpd.dhcp4.relay import RelayInfo
from apidhcpd.dhcp4.server import DHCPServer
from apidhcpd.dhcp4.transaction import Policy
from apidhcpd.store.inventorycache import InventoryCache
from apidhcpd.store.memory import MemoryStore
from tests.redisserver import shared_redis
from tests.stores import connected_store, sleep

LINK = Link("192.0.2.1", ipaddress.IPv4Network("192.0.2.0/24"))
A, B, C = "02:00:00:00:0e:0a", "02:00:00:00:0e:0b", "02:00:00:00:0e:0c"


def request(mac="b8:27:eb:12:34:56", vendor=None, user=None, arch=(), client_id=None,
            giaddr="0.0.0.0", mtype=1):
    msg = Message(op=1, xid=7, giaddr=giaddr, hops=0 if giaddr == "0.0.0.0" else 1,
                  chaddr=bytes.fromhex(mac.replace(":", "")))
    msg.set(53, mtype)
    msg.set(55, [1, 2, 3, 6, 42, 66])
    if vendor is not None:
        msg.set_raw(60, vendor.encode())
    if user is not None:
        msg.set_raw(77, user)
    if arch:
        msg.set_raw(93, b"".join(a.to_bytes(2, "big") for a in arch))
    if client_id is not None:
        msg.set_raw(61, bytes.fromhex(client_id))
    return msg


def facts(**kwargs):
    relay = kwargs.pop("relay", RelayInfo())
    return classes.facts(request(**kwargs), relay)


class MatchTests(unittest.SynchronousTestCase):
    def assertMatches(self, fields, expected, **client):
        self.assertEqual(classes.matches(fields, facts(**client)), expected,
                         (fields, client))

    def test_vendor_class_exact_and_prefix(self):
        pxe = "PXEClient:Arch:00007:UNDI:003016"
        self.assertMatches({"match-vendor-class": pxe}, True, vendor=pxe)
        self.assertMatches({"match-vendor-class": "PXEClient"}, False, vendor=pxe)
        self.assertMatches({"match-vendor-class": "PXEClient:Arch:00007*"}, True, vendor=pxe)
        self.assertMatches({"match-vendor-class": "PXEClient:Arch:00000*"}, False, vendor=pxe)
        self.assertMatches({"match-vendor-class": "HTTPClient*"}, False, vendor=pxe)
        self.assertMatches({"match-vendor-class": "HTTPClient*"}, True,
                           vendor="HTTPClient:Arch:00016")
        self.assertMatches({"match-vendor-class": "PXEClient*"}, False)  # no option 60

    def test_user_class_in_both_encodings(self):
        for raw in (b"iPXE", b"\x04iPXE", b"\x03abc\x04iPXE"):
            self.assertMatches({"match-user-class": "iPXE"}, True, user=raw)
        self.assertMatches({"match-user-class": "iPXE"}, False, user=b"\x05gPXE1")
        self.assertMatches({"match-user-class": "iPX"}, False, user=b"iPXE")
        self.assertMatches({"match-user-class": "iP*"}, True, user=b"\x04iPXE")
        self.assertMatches({"match-user-class": "iPXE"}, False)

    def test_arch_list(self):
        self.assertMatches({"match-arch": "7,9"}, True, arch=(9,))
        self.assertMatches({"match-arch": "7, 9"}, True, arch=(7,))
        self.assertMatches({"match-arch": "7,9"}, False, arch=(0,))
        self.assertMatches({"match-arch": "0"}, True, arch=(0,))
        self.assertMatches({"match-arch": "11"}, True, arch=(0, 11))  # a list in one 93
        self.assertMatches({"match-arch": "0"}, False)  # no option 93 is not BIOS

    def test_client_id_hex(self):
        self.assertMatches({"match-client-id": "01020000000102"}, True,
                           client_id="01020000000102")
        self.assertMatches({"match-client-id": "01:02:00:00:00:01:02"}, True,
                           client_id="01020000000102")
        self.assertMatches({"match-client-id": "01020000000102"}, False,
                           client_id="01020000000103")
        self.assertMatches({"match-client-id": "01020000000102"}, False)

    def test_mac_prefix(self):
        for prefix in ("b8:27:eb", "B8-27-EB", "b8:27:eb:12:34:56", "b8"):
            self.assertMatches({"match-mac": prefix}, True, mac="b8:27:eb:12:34:56")
        self.assertMatches({"match-mac": "dc:a6:32"}, False, mac="b8:27:eb:12:34:56")
        self.assertMatches({"match-mac": "dc:a6:32"}, True, mac="dc:a6:32:00:00:01")

    def test_relay_circuit_and_remote_id_as_the_keys_spell_them(self):
        relay = RelayInfo(circuit_id=b"sw1/7", remote_id=b"\x00\x01")
        self.assertMatches({"match-circuit-id": "sw1/7"}, True, relay=relay)
        self.assertMatches({"match-circuit-id": "sw1/8"}, False, relay=relay)
        self.assertMatches({"match-remote-id": "0001"}, True, relay=relay)
        self.assertMatches({"match-circuit-id": "sw1/7"}, False)  # no relay

    def test_every_match_field_given_must_match_and_none_matches_nobody(self):
        both = {"match-arch": "7", "match-user-class": "iPXE"}
        self.assertMatches(both, True, arch=(7,), user=b"iPXE")
        self.assertMatches(both, False, arch=(7,))
        self.assertMatches(both, False, user=b"iPXE")
        self.assertMatches({"dns": "192.0.2.53"}, False, arch=(7,), user=b"iPXE")
        self.assertMatches({"match-arch": ""}, False, arch=(7,))

    def test_order_lowest_priority_first_and_ties_by_name(self):
        found = classes.matched([
            ("b", {"match-arch": "7", "priority": "5"}),
            ("a", {"match-arch": "7", "priority": "5"}),
            ("high", {"match-arch": "7", "priority": "10"}),
            ("low", {"match-arch": "7"}),
            ("other", {"match-arch": "9", "priority": "99"})], facts(arch=(7,)))
        # applied in this order: the last wins
        self.assertEqual(classes.names(found), ["low", "b", "a", "high"])

    def test_match_errors(self):
        self.assertEqual(classes.match_errors({"match-arch": "7,9", "priority": "3"}), [])
        errors = classes.match_errors({"match-arch": "7,x,70000", "match-client-id": "0g",
                                       "match-mac": "b8:27:ebx", "priority": "high",
                                       "range": "192.0.2.5-192.0.2.6", "lease-time": "1h"})
        self.assertEqual(len(errors), 7, errors)
        self.assertTrue(any("'x' is not an architecture number" in e for e in errors))
        self.assertTrue(any("'70000' is not an architecture number" in e for e in errors))
        self.assertTrue(any("match-client-id: '0g' is not hex" in e for e in errors))
        self.assertTrue(any("is not a MAC prefix" in e for e in errors))
        self.assertEqual(classes.match_errors({"dns": "192.0.2.53"}),
                         ["a class needs at least one match field (%s)"
                          % ", ".join(classes.MATCH_FIELDS)])


INVENTORY = {
    "group:default": {"dns": "192.0.2.1", "ntp": "192.0.2.101", "gateway": "192.0.2.254",
                      "prefix": "24"},
    "subnet:198.51.100.0/24": {"dns": "198.51.100.2", "gateway": "198.51.100.1",
                               "range": "198.51.100.10-198.51.100.20"},
    "group:lab": {"dns": "198.51.100.3", "time-offset": "3"},
    "class:uefi": {"match-arch": "7,9", "priority": "1", "dns": "198.51.100.4",
                   "tftp-server": "low.example.test", "gateway": "192.0.2.99"},
    "class:ipxe": {"match-user-class": "iPXE", "priority": "5", "dns": "198.51.100.5",
                   "tftp-server": "high.example.test"},
    "mac:" + A: {"ip": "198.51.100.50", "group": "lab", "dns": "198.51.100.6"},
    "mac:" + B: {"ip": "198.51.100.51", "group": "lab"},
}


class PrecedenceMixin:
    """The same inventory, written through put(), answered by the whole chain; a field set
    at every level shows which level wins."""

    @defer.inlineCallbacks
    def seed(self):
        for key, fields in INVENTORY.items():
            yield self.store.put(key, fields)

    @defer.inlineCallbacks
    def ask(self, mac, **client):
        reply = yield self.server.handle(request(mac, giaddr="198.51.100.1", **client), LINK)
        self.assertIsNotNone(reply, "no answer")
        return reply

    @defer.inlineCallbacks
    def test_host_over_classes_over_group_over_subnet_over_default(self):
        ipxe_on_uefi = {"arch": (7,), "user": b"iPXE"}
        reply = yield self.ask(A, **ipxe_on_uefi)
        self.assertEqual(reply.get(6), ["198.51.100.6"])  # the host's
        self.assertEqual(reply.get(66), "high.example.test")  # the higher class's
        self.assertEqual(reply.get(2), 3)  # the group's
        self.assertEqual(reply.get(42), ["192.0.2.101"])  # group:default's
        # a class's router off the subnet is not sent: the subnet's is
        self.assertEqual(reply.get(3), ["198.51.100.1"])
        self.assertEqual((yield self.ask(B, **ipxe_on_uefi)).get(6), ["198.51.100.5"])
        reply = yield self.ask(B, arch=(9,))
        self.assertEqual((reply.get(6), reply.get(66)), (["198.51.100.4"], "low.example.test"))
        reply = yield self.ask(B)  # no class: the group's
        self.assertEqual((reply.get(6), reply.get(66)), (["198.51.100.3"], None))
        reply = yield self.ask(C)  # unknown, no group:pool: group:default under the subnet
        self.assertEqual(reply.get(6), ["198.51.100.2"])
        self.assertEqual(reply.yiaddr, "198.51.100.10")

    @defer.inlineCallbacks
    def test_a_changed_or_deleted_class_is_seen_by_the_next_request(self):
        self.assertEqual((yield self.ask(B, arch=(9,))).get(6), ["198.51.100.4"])
        yield self.store.put("class:uefi", {"match-arch": "9", "dns": "203.0.113.4"})
        yield self.settled()
        self.assertEqual((yield self.ask(B, arch=(9,))).get(6), ["203.0.113.4"])
        yield self.store.delete("class:uefi")
        yield self.settled()
        self.assertEqual((yield self.ask(B, arch=(9,))).get(6), ["198.51.100.3"])
        yield self.store.put("class:rpi", {"match-mac": "02:00:00:00:0e", "dns": "203.0.113.7"})
        yield self.settled()
        self.assertEqual((yield self.ask(B)).get(6), ["203.0.113.7"])

    def settled(self):
        return defer.succeed(None)


class MemoryPrecedenceTests(PrecedenceMixin, unittest.TestCase):
    def setUp(self):
        self.store = MemoryStore()
        self.server = DHCPServer(self.store, Policy(server_id="192.0.2.1"), reactor)
        return self.seed()


class RedisPrecedenceTests(PrecedenceMixin, unittest.TestCase):
    @defer.inlineCallbacks
    def setUp(self):
        self.redis = shared_redis("classes")
        self.redis.flushall()
        self.store = yield connected_store(self, self.redis)
        yield self.seed()
        self.server = DHCPServer(self.store, Policy(server_id="192.0.2.1"), reactor)

    @defer.inlineCallbacks
    def test_put_keeps_the_index_of_class_names(self):
        members = sorted(self.redis.cli("SMEMBERS", "classes").split())
        self.assertEqual(members, ["ipxe", "uefi"])
        self.assertEqual(sorted((yield self.store.hashes("class:"))), ["class:ipxe",
                                                                        "class:uefi"])
        self.redis.cli("DEL", "classes")  # the index is what lookup.lua (and hashes) read
        self.assertEqual((yield self.ask(B, arch=(9,))).get(6), ["198.51.100.3"])
        self.assertEqual((yield self.store.hashes("class:")), {})

    @defer.inlineCallbacks
    def test_a_class_written_with_plain_redis_cli_is_indexed_by_the_periodic_refresh(self):
        self.redis.cli("HSET", "class:handmade", "match-arch", "11", "dns", "203.0.113.11")
        self.assertEqual((yield self.ask(B, arch=(11,))).get(6), ["198.51.100.3"])  # not yet
        yield self.store.refresh_reserved()  # every 300 s, and when Redis is reached
        self.assertEqual((yield self.ask(B, arch=(11,))).get(6), ["203.0.113.11"])
        members = sorted(self.redis.cli("SMEMBERS", "classes").split())
        self.assertEqual(members, ["handmade", "ipxe", "uefi"])


class CachedPrecedenceTests(PrecedenceMixin, unittest.TestCase):
    """The same through the inventory cache: classes are held like groups, and a published
    class: change drops them."""

    @defer.inlineCallbacks
    def setUp(self):
        yield RedisPrecedenceTests.setUp(self)
        self.cache = InventoryCache(self.store, reactor, ttl=60)
        self.store.watch(self.cache._changed, self.cache._watch_state)
        self.server = DHCPServer(self.cache, Policy(server_id="192.0.2.1"), reactor)
        yield self.settled()

    @defer.inlineCallbacks
    def settled(self):
        """Until the cache holds the classes Redis holds (the change arrives by pub/sub)."""
        stored = yield self.store.hashes("class:")
        wanted = tuple(sorted((key[len("class:"):], fields) for key, fields in stored.items()))
        for _ in range(250):
            yield sleep(0.02)
            if self.cache._ready() and self.cache._loading is None \
                    and self.cache._classes == wanted:
                return
        self.fail("the cache did not settle")

    @defer.inlineCallbacks
    def test_answers_come_from_the_cache(self):
        yield self.ask(B, arch=(9,))
        hits = self.cache.cache_stats["hits"]
        reply = yield self.ask(B, arch=(9,))
        self.assertEqual(reply.get(6), ["198.51.100.4"])
        self.assertEqual(self.cache.cache_stats["hits"], hits + 1)


class OutageClassesTests(unittest.TestCase):
    """While the store is down, a reserved host is answered with the classes its last lookup
    gave (the outage cache keeps them with the answer)."""

    @defer.inlineCallbacks
    def test_the_last_lookups_classes_answer_in_an_outage(self):
        from apidhcpd.store.contract import StoreUnavailable
        from apidhcpd.store.outage import OutageCache

        memory = MemoryStore()
        for key, fields in INVENTORY.items():
            yield memory.put(key, fields)
        lookup = memory.lookup

        def flaky(*args, **kwargs):
            if self.down:
                return defer.fail(StoreUnavailable("down"))
            return lookup(*args, **kwargs)

        memory.lookup = flaky
        self.down = False
        server = DHCPServer(OutageCache(memory, reactor), Policy(server_id="192.0.2.1"),
                            reactor)
        msg = request(B, giaddr="198.51.100.1", arch=(9,))
        self.assertEqual((yield server.handle(msg, LINK)).get(6), ["198.51.100.4"])
        self.down = True
        reply = yield server.handle(request(B, giaddr="198.51.100.1", arch=(9,)), LINK)
        self.assertEqual(reply.get(6), ["198.51.100.4"])
        reply = yield server.handle(request(B, giaddr="198.51.100.1"), LINK)
        self.assertEqual(reply.get(6), ["198.51.100.3"])
