"""Client classes: what each match field matches (inventory/classes.py, from the facts
dhcp4/classes.py reads), the one precedence rule (group:default < subnet < group < classes by
priority < host) on the memory store, on a real Redis and through the inventory cache, the
cache dropping a changed class, a class's `range` and `lease-time` on every store, and the Lua
matcher agreeing with the Python one."""

import ipaddress
import json

from hypothesis import example, given, settings
from hypothesis import strategies as st
from twisted.internet import defer, reactor
from twisted.trial import unittest

from apidhcpd.dhcp4 import classes as request_facts
from apidhcpd.dhcp4.message import Message
from apidhcpd.dhcp4.profile import Link
from apidhcpd.dhcp4.relay import RelayInfo
from apidhcpd.dhcp4.server import DHCPServer
from apidhcpd.dhcp4.transaction import Policy
from apidhcpd.inventory import classes, rules
from apidhcpd.store.inventorycache import InventoryCache
from apidhcpd.store.memory import MemoryStore
from apidhcpd.store.redis import _facts_args
from apidhcpd.store.redisconn import SCRIPTS
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
    return request_facts.facts(request(**kwargs), relay)


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
        self.assertEqual(len(errors), 5, errors)  # range and lease-time are a class's too
        self.assertIn("priority: '1000000000' is not an integer of at most nine digits",
                      classes.match_errors({"match-arch": "7", "priority": "1000000000"}))
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


RPI = "b8:27:eb:00:00:0%d"
CLASS_RANGES = {
    "group:default": {"dns": "192.0.2.1"},
    "subnet:198.51.100.0/24": {"gateway": "198.51.100.1", "range": "198.51.100.10-198.51.100.20"},
    "subnet:203.0.113.0/24": {"gateway": "203.0.113.1", "range": "203.0.113.10-203.0.113.20"},
    # its range has parts on one subnet only; on the other its clients draw from the subnet
    "class:rpi": {"match-mac": "b8:27:eb", "range": "198.51.100.100-198.51.100.101, 192.0.2.5",
                  "lease-time": "2h", "dns": "198.51.100.53"},
    # matched too, a higher priority, but no range: the range is rpi's, the lease time this one's
    "class:short": {"match-mac": "b8:27:eb:00:00:03", "priority": "5", "lease-time": "10m"},
}


class ClassRangeMixin:
    """A class's `range` gives its clients their dynamic addresses (the parts on their subnet)
    and its `lease-time` their lease, in the store's allocation: the same on every store."""

    @defer.inlineCallbacks
    def seed(self):
        for key, fields in CLASS_RANGES.items():
            yield self.store.put(key, fields)

    @defer.inlineCallbacks
    def dora(self, mac, giaddr="198.51.100.1"):
        offer = yield self.server.handle(request(mac, giaddr=giaddr), LINK)
        if offer is None:
            return None, None
        msg = request(mac, giaddr=giaddr, mtype=3)
        msg.set(54, "192.0.2.1")
        msg.set(50, offer.yiaddr)
        ack = yield self.server.handle(msg, LINK)
        self.assertEqual(ack.get(53), 5, "not ACKed")
        self.assertEqual(ack.yiaddr, offer.yiaddr)
        return offer, ack

    @defer.inlineCallbacks
    def test_a_class_range_and_lease_time(self):
        offer, ack = yield self.dora(RPI % 1)
        self.assertEqual(offer.yiaddr, "198.51.100.100")
        self.assertEqual((offer.get(51), ack.get(51)), (7200, 7200))
        self.assertEqual(ack.get(6), ["198.51.100.53"])
        lease = yield self.store.lease_of(RPI % 1, NOW_OF(self))
        self.assertEqual(lease.ip, "198.51.100.100")
        offer, ack = yield self.dora(A)  # no class: the subnet's range and lease time
        self.assertEqual((offer.yiaddr, ack.get(51)), ("198.51.100.10", 86400))
        offer, ack = yield self.dora(RPI % 3)  # rpi's range, short's lease time
        self.assertEqual((offer.yiaddr, ack.get(51)), ("198.51.100.101", 600))
        # the class's range is spent: its next client gets nothing, though the subnet has room
        self.assertEqual((yield self.dora(RPI % 4)), (None, None))
        # on a subnet where the class has no range, its clients draw from the subnet's
        offer, ack = yield self.dora(RPI % 5, giaddr="203.0.113.1")
        self.assertEqual((offer.yiaddr, ack.get(51)), ("203.0.113.10", 7200))

    @defer.inlineCallbacks
    def test_a_client_may_not_take_a_class_address_it_does_not_match(self):
        msg = request(A, giaddr="198.51.100.1")
        msg.set(50, "198.51.100.100")
        offer = yield self.server.handle(msg, LINK)
        self.assertEqual(offer.yiaddr, "198.51.100.10")
        msg = request(A, giaddr="198.51.100.1", mtype=3)
        msg.set(54, "192.0.2.1")
        msg.set(50, "198.51.100.100")
        self.assertEqual((yield self.server.handle(msg, LINK)).get(53), 6)  # NAK

    @defer.inlineCallbacks
    def test_a_released_class_address_is_offered_again(self):
        offer, _ = yield self.dora(RPI % 1)
        yield self.dora(RPI % 2)
        msg = request(RPI % 1, giaddr="198.51.100.1", mtype=7)
        msg.ciaddr = offer.yiaddr
        msg.set(54, "192.0.2.1")
        yield self.server.handle(msg, LINK)
        offer, _ = yield self.dora(RPI % 4)
        self.assertEqual(offer.yiaddr, "198.51.100.100")


def NOW_OF(testcase):
    return int(reactor.seconds())


class MemoryClassRangeTests(ClassRangeMixin, unittest.TestCase):
    def setUp(self):
        self.store = MemoryStore()
        self.server = DHCPServer(self.store, Policy(server_id="192.0.2.1"), reactor)
        return self.seed()


class RedisClassRangeTests(ClassRangeMixin, unittest.TestCase):
    @defer.inlineCallbacks
    def setUp(self):
        self.redis = shared_redis("classes")
        self.redis.flushall()
        self.store = yield connected_store(self, self.redis)
        yield self.seed()
        self.server = DHCPServer(self.store, Policy(server_id="192.0.2.1"), reactor)

    @defer.inlineCallbacks
    def test_the_lease_remembers_the_class_pool(self):
        yield self.dora(RPI % 1)
        self.assertEqual(self.redis.cli("HGET", "lease:198.51.100.100", "pool").strip(),
                         "class:rpi@198.51.100.0/24")


class CachedClassRangeTests(ClassRangeMixin, unittest.TestCase):
    """Through the inventory cache: a known host's allocation gets the source from Python
    (inventory/rules.py), a new one's from Lua (common.lua): both must say the same."""

    @defer.inlineCallbacks
    def setUp(self):
        yield RedisClassRangeTests.setUp(self)
        self.cache = InventoryCache(self.store, reactor, ttl=60)
        self.store.watch(self.cache._changed, self.cache._watch_state)
        self.server = DHCPServer(self.cache, Policy(server_id="192.0.2.1"), reactor)
        for _ in range(250):
            yield sleep(0.02)
            if self.cache._ready() and self.cache._loading is None:
                return
        self.fail("the cache did not load")

    @defer.inlineCallbacks
    def test_the_request_after_the_offer_is_allocated_from_the_cache(self):
        hits = self.cache.cache_stats["hits"]
        _, ack = yield self.dora(RPI % 3)  # the REQUEST: bind.lua, the source from Python
        self.assertGreater(self.cache.cache_stats["hits"], hits)
        self.assertEqual((ack.yiaddr, ack.get(51)), ("198.51.100.100", 600))
        self.assertEqual(self.redis.cli("HGET", "lease:198.51.100.100", "pool").strip(),
                         "class:rpi@198.51.100.0/24")


# common.lua's matcher, run on cases the test passes as JSON (ARGV[1]): each case's facts as
# store/redis.py's _facts_args gives them (hex, so any byte survives), its classes, its subnet.
# Returns, per case, the names matched in order, the pool and ranges of source_of, and the
# lease time of lease_time_of.
LUA_CASES = """
local cases = cjson.decode(ARGV[1])
local out = {}
for _, case in ipairs(cases) do
  for i = #ARGV, 1, -1 do ARGV[i] = nil end
  for i, h in ipairs(case.argv) do
    ARGV[i] = (string.gsub(h, '..', function(x) return string.char(tonumber(x, 16)) end))
  end
  local matched = matched_classes(case.flat, class_facts(1))
  local names = {}
  for i, c in ipairs(matched) do names[i] = c.name end
  local subnet = case.subnet ~= '' and ('subnet:' .. case.subnet) or false
  local _, pool, ranges = source_of({false, {}, 'pool', {}, {}, subnet, {}, case.flat}, matched)
  local flat = {}
  for _, r in ipairs(ranges) do flat[#flat + 1] = r[1]; flat[#flat + 1] = r[2] end
  out[#out + 1] = {names = names, pool = pool, ranges = flat,
                   lease = lease_time_of({false, {}, 'pool', {}, {}, subnet, {}}, {}, matched)}
end
return cjson.encode(out)
"""

_texts = st.sampled_from
CLASS_FIELDS = {
    "match-vendor-class": _texts(["PXEClient", "PXEClient*", "HTTP*", "*", " PXEClient ",
                                  "\u00e9*", "\u00e9t\u00e9", "", "PXEClient:Arch:00007"]),
    "match-user-class": _texts(["iPXE", "iP*", "*", " iPXE", "\u00e9"]),
    "match-arch": _texts(["7", "7,9", " 9 , 11", "0", "x,7", "070", "1e1", "+7", "65535",
                          "7,,9", "0x7", "1234567890"]),
    "match-client-id": _texts(["01:02", "0102", "01-02-03", "AB", "ab.cd", "", "zz"]),
    "match-mac": _texts(["02", "02:00", "b8-27-EB", "B8", "", "zz", "02:00:00:00:00:01:ff"]),
    "match-circuit-id": _texts(["eth0", " eth0 ", "0a0b", "sw1/7"]),
    "match-remote-id": _texts(["r1", "0a0b"]),
    "priority": _texts(["", "1", "+1", "-1", "01", "1.5", "0x10", "999999999", "1000000000",
                        " 5 ", "x", "-999999999"]),
    "range": _texts(["198.51.100.10-198.51.100.20", "192.0.2.5", "bad", "",
                     "192.0.2.5-192.0.2.9, 198.51.100.30", "198.51.100.250-198.51.101.5",
                     "192.0.2.200-192.0.2.130", "192.0.2.140 - 192.0.2.150"]),
    "lease-time": _texts(["", "1h", "90", "bad", "1.5h", "0"]),
}
class_strategy = st.dictionaries(st.sampled_from(sorted(CLASS_FIELDS)), st.just(None),
                                 max_size=5).flatmap(
    lambda chosen: st.fixed_dictionaries({k: CLASS_FIELDS[k] for k in chosen}))
facts_strategy = st.builds(
    classes.Facts,
    vendor_class=st.sampled_from([None, b"PXEClient", b"PXEClient:Arch:00007", b"HTTPClient",
                                  b"\xc3\xa9t\xc3\xa9", b"\xc3\xa9\xff", b""]).map(
        lambda raw: None if raw is None else classes.text(raw)),
    user_classes=st.lists(st.sampled_from([b"iPXE", b"gPXE", b"\xc3\xa9", b"\xff"]),
                          max_size=2, unique=True).map(
        lambda raw: tuple(classes.text(r) for r in raw)),
    arches=st.lists(st.sampled_from([0, 7, 9, 10, 11, 70, 65535]), max_size=2).map(tuple),
    client_id=st.sampled_from([None, "0102", "010203", "ab", "abcd"]),
    mac=st.sampled_from(["020000000001", "b827eb123456"]),
    circuit_id=st.sampled_from([None, "eth0", "0a0b", "sw1/7"]),
    remote_id=st.sampled_from([None, "r1", "0a0b"]))
case_strategy = st.tuples(
    st.dictionaries(st.sampled_from(["a", "b", "ab", "b\u00e9", "c", "Z"]), class_strategy,
                    max_size=4),
    facts_strategy,
    st.sampled_from(["", "198.51.100.0/24", "192.0.2.0/25", "192.0.2.128/25"]))


class LuaAgreesTests(unittest.SynchronousTestCase):
    """common.lua's class matcher, source and lease time say what inventory/classes.py and
    inventory/rules.py say, for any classes and any client (the facts passed as
    store/redis.py passes them)."""

    def setUp(self):
        self.redis = shared_redis("classes")
        self.script = SCRIPTS["lookup"].rsplit("local reply = lookup", 1)[0] + LUA_CASES

    @settings(max_examples=150)
    @given(st.lists(case_strategy, min_size=1, max_size=8))
    @example([({"a": {"match-mac": "02", "priority": "1000000000"},
                "b": {"match-mac": "02", "priority": "1"}},
               classes.Facts(mac="020000000001"), "")])
    def test_the_same_classes_in_the_same_order_and_the_same_source(self, cases):
        sent = []
        for found, client, subnet in cases:
            flat = []
            for name, fields in sorted(found.items()):
                flat += [name, [x for pair in sorted(fields.items()) for x in pair]]
            argv = [a.hex() if isinstance(a, bytes) else a.encode().hex()
                    for a in _facts_args(client)]
            sent.append({"argv": argv, "flat": flat, "subnet": subnet})
        answer = json.loads(self.redis.cli("EVAL", self.script, 0, json.dumps(sent)))
        for (found, client, subnet), lua in zip(cases, answer):
            matched = classes.matched(sorted(found.items()), client)
            source = rules.address_source("pool", {}, subnet or None, {}, matched)
            expected = {"names": classes.names(matched), "pool": source.name,
                        "ranges": [n for r in source.ranges for n in r],
                        "lease": rules.lease_time(*(f for _, f in reversed(matched)))}
            got = {k: (v if v != {} else []) for k, v in lua.items()}  # cjson: {} for []
            self.assertEqual(got, expected, (found, client, subnet))
