"""explain (dhcp4/explain.py): which host, subnet, group and classes a hypothetical client
matches, which layer gave each field, its options and its address; on the memory store and on
a real redis-server, and that it writes nothing to either; the options the server adds for a
PXE or HTTP boot client, and a reserved address another client holds."""

import copy
import ipaddress

from twisted.internet import defer
from twisted.trial import unittest

from apidhcpd.dhcp4 import options as opt
from apidhcpd.dhcp4.explain import ECHO, PXE_DEFAULT, Query, explain, field_sources
from apidhcpd.dhcp4.message import Message
from apidhcpd.dhcp4.profile import Link
from apidhcpd.dhcp4.server import DHCPServer
from apidhcpd.dhcp4.transaction import Policy
from apidhcpd.inventory.allocation import parse_ranges
from apidhcpd.inventory.rules import AddressSource
from apidhcpd.store.memory import MemoryStore
from tests.redisserver import RedisTestMixin
from tests.stores import connected_store

SERVER = "192.0.2.1"
LINK = Link(SERVER, ipaddress.IPv4Network("192.0.2.0/24"))
RELAY = "198.51.100.1"
KNOWN, DYNAMIC, UNKNOWN = "02:00:00:00:05:01", "02:00:00:00:05:02", "02:00:00:00:05:03"
NOW = 1_000_000
SUBNET = "198.51.100.0/24"

INVENTORY = {
    "group:default": {"gateway": SERVER, "prefix": "24", "ntp": "192.0.2.123",
                      "dns": "192.0.2.53", "domain": "default.example.test",
                      "lease-time": "1h"},
    "subnet:" + SUBNET: {"gateway": RELAY, "domain": "subnet.example.test", "group": "lab",
                         "range": "198.51.100.10-198.51.100.20"},
    "group:lab": {"dns": "198.51.100.53", "tftp-server": "group.example.test",
                  "wpad": "http://wpad.example.test/"},
    "class:uefi": {"match-arch": "7", "tftp-server": "uefi.example.test",
                   "boot-file": "ipxe.efi", "next-server": "198.51.100.5"},
    "class:ipxe": {"match-user-class": "iPXE", "priority": "10",
                   "boot-file": "http://198.51.100.5/boot.ipxe", "root-path": "class"},
    "mac:" + KNOWN: {"ip": "198.51.100.7", "group": "lab", "root-path": "host"},
    "class:rack": {"match-mac": "02:00:00:00:06", "range": "198.51.100.100-198.51.100.110,"
                   "203.0.113.5", "lease-time": "2h"},
}
RACKED = "02:00:00:00:06:01"


class ExplainContract:
    """The same tests on each store: `self.store` (IAdmin) holds INVENTORY; `snapshot()` is
    everything the store holds."""

    def explain(self, **given):
        given.setdefault("giaddr", RELAY)
        return explain(self.store, Query(**given), LINK, NOW)

    @defer.inlineCallbacks
    def test_each_precedence_level_shows_its_layer(self):
        found = yield self.explain(mac=KNOWN, arches=(7,), user_class="iPXE")
        self.assertEqual((found.host, found.subnet, found.group, found.classes),
                         ("mac:" + KNOWN, SUBNET, "lab", ("uefi", "ipxe")))
        sources = field_sources(found)
        self.assertEqual(sources["ntp"], "group:default")
        self.assertEqual(sources["domain"], "subnet:" + SUBNET)
        self.assertEqual(sources["gateway"], "subnet:" + SUBNET)
        self.assertEqual(sources["range"], "subnet:" + SUBNET)
        self.assertEqual(sources["dns"], "group:lab")
        self.assertEqual(sources["wpad"], "group:lab")
        self.assertEqual(sources["tftp-server"], "class:uefi")  # over the group
        self.assertEqual(sources["boot-file"], "class:ipxe")  # priority 10 over uefi's 0
        self.assertEqual(sources["root-path"], "mac:" + KNOWN)  # the host over every class
        self.assertNotIn("match-arch", sources)
        options = {name: value for _, name, value, _ in found.options}
        self.assertEqual(options["ntp-servers"], "192.0.2.123")
        self.assertEqual(options["domain-name"], "subnet.example.test")
        self.assertEqual(options["router"], RELAY)
        self.assertEqual(options["domain-name-server"], "198.51.100.53")
        self.assertEqual(options["tftp-server-name"], "uefi.example.test")
        self.assertEqual(options["root-path"], "host")
        self.assertEqual(found.boot, {"next-server": "198.51.100.5",
                                      "boot-file": "http://198.51.100.5/boot.ipxe",
                                      "server-name": ""})
        self.assertEqual(found.address, {"kind": "reserved", "ip": "198.51.100.7",
                                         "key": "mac:" + KNOWN})
        self.assertEqual(found.lease_time, 3600)
        self.assertIsNone(found.dropped)

    @defer.inlineCallbacks
    def test_a_client_matching_no_class_gets_the_group(self):
        found = yield self.explain(mac=KNOWN, vendor_class="MSFT 5.0")
        self.assertEqual(found.classes, ())
        self.assertEqual(field_sources(found)["tftp-server"], "group:lab")
        self.assertEqual(found.boot["boot-file"], "")

    @defer.inlineCallbacks
    def test_without_a_relay_the_link_places_the_client(self):
        found = yield self.explain(mac=UNKNOWN, giaddr=None, arches=(7,))
        self.assertEqual((found.host, found.subnet, found.group, found.selector),
                         (None, None, "default", SERVER))
        self.assertEqual(found.classes, ("uefi",))
        self.assertEqual(field_sources(found)["dns"], "group:default")
        self.assertEqual(field_sources(found)["boot-file"], "class:uefi")
        self.assertEqual(found.host_keys, ("mac:" + UNKNOWN,))
        sources = {code: source for code, _, _, source in found.options}
        self.assertEqual((sources[1], sources[28]), ("group:default", "group:default"))
        yield self.store.put("group:default", {"prefix": None}, mode="remove")
        found = yield self.explain(mac=UNKNOWN, giaddr=None)
        sources = {code: source for code, _, _, source in found.options}
        self.assertEqual((sources[1], sources[28]), ("link", "link"))  # the link's mask

    @defer.inlineCallbacks
    def test_an_unknown_client_gets_its_address_source(self):
        found = yield self.explain(mac=UNKNOWN, hostname="newbie", client_id="01aabb")
        self.assertEqual(found.host_keys, ("client:01aabb", "client:newbie", "mac:" + UNKNOWN))
        self.assertIsNone(found.host)
        self.assertEqual(found.address, {"kind": "free", "source": SUBNET,
                                         "ranges": ["198.51.100.10-198.51.100.20"],
                                         "seed_pool": False})

    @defer.inlineCallbacks
    def test_a_class_with_a_range_on_the_subnet_gives_the_address_and_lease_time(self):
        found = yield self.explain(mac=RACKED)
        self.assertEqual(found.classes, ("rack",))
        self.assertEqual(found.address, {"kind": "free", "source": "class:rack@" + SUBNET,
                                         "ranges": ["198.51.100.100-198.51.100.110"],
                                         "seed_pool": False})
        self.assertEqual(field_sources(found)["range"], "class:rack")
        self.assertEqual(found.lease_time, 7200)

    @defer.inlineCallbacks
    def test_a_dynamic_client_with_a_lease_gets_its_lease(self):
        source = AddressSource(SUBNET, parse_ranges("198.51.100.10-198.51.100.20"))
        yield self.store.commit(DYNAMIC, "198.51.100.12", source, 600, NOW - 10)
        found = yield self.explain(mac=DYNAMIC)
        self.assertEqual(found.host, "mac:" + DYNAMIC)  # its lease record
        self.assertEqual(found.group, "lab")
        self.assertEqual(found.address, {"kind": "lease", "ip": "198.51.100.12",
                                         "state": "bound", "expires": NOW + 590})
        found = yield explain(self.store, Query(mac=DYNAMIC, giaddr=RELAY), LINK, NOW + 600)
        self.assertEqual(found.address["kind"], "free")  # expired: a free one

    @defer.inlineCallbacks
    def test_a_relayed_client_on_no_subnet_would_be_dropped(self):
        found = yield self.explain(mac=UNKNOWN, giaddr="203.0.113.1")
        self.assertEqual(found.dropped, "relayed for 203.0.113.1, on no subnet")

    @defer.inlineCallbacks
    def test_the_relay_ids_are_host_keys_and_class_matches(self):
        yield self.store.put("relay:sw1/7", {"ip": "198.51.100.8"})
        yield self.store.put("class:port", {"match-circuit-id": "sw1/7", "ntp": "198.51.100.9"})
        found = yield self.explain(mac=UNKNOWN, circuit_id="sw1/7", remote_id="sw1")
        self.assertEqual(found.host_keys, ("mac:" + UNKNOWN, "relay:sw1/7", "remote:sw1"))
        self.assertEqual((found.host, found.classes), ("relay:sw1/7", ("port",)))
        self.assertEqual(field_sources(found)["ntp"], "class:port")
        self.assertEqual(found.address["ip"], "198.51.100.8")

    @defer.inlineCallbacks
    def test_explain_writes_nothing(self):
        source = AddressSource(SUBNET, parse_ranges("198.51.100.10-198.51.100.20"))
        yield self.store.commit(DYNAMIC, "198.51.100.12", source, 600, NOW - 10)
        before = yield self.snapshot()
        for mac in (KNOWN, DYNAMIC, UNKNOWN):
            yield self.explain(mac=mac, arches=(7,), user_class="iPXE", hostname="x")
            yield self.explain(mac=mac, arches=(7,), vendor_class="PXEClient:Arch:00007")
            yield self.explain(mac=mac, giaddr=None)
        after = yield self.snapshot()
        self.assertEqual(after, before)

    def discover(self, mac, vendor_class=None, user_class=b"iPXE"):
        """What the server answers this client's DISCOVER asking for every option (arch 7)."""
        request = Message(op=1, xid=7, chaddr=bytes.fromhex(mac.replace(":", "")),
                          giaddr=RELAY)
        request.set(53, opt.DISCOVER)
        request.set_raw(opt.OptionCode.CLIENT_ARCH, b"\x00\x07")
        if user_class:
            request.set_raw(opt.OptionCode.USER_CLASS, user_class)
        if vendor_class:
            request.set_raw(opt.OptionCode.VENDOR_CLASS_ID, vendor_class)
        request.set_raw(opt.OptionCode.PARAMETER_REQUEST_LIST, bytes(range(1, 255)))
        server = DHCPServer(self.server_store(), Policy(server_id=SERVER), self.clock(),
                            log_exchanges=False)
        return server.handle(request, LINK), server

    @defer.inlineCallbacks
    def test_the_options_are_those_the_server_sends(self):
        """What explain lists is what a DISCOVER asking for every option is sent."""
        found = yield self.explain(mac=KNOWN, arches=(7,), user_class="iPXE")
        reply = yield self.discover(KNOWN)[0]
        served = {code: raw for code, raw in reply.options.items()
                  if code not in (53, 54, 51, 58, 59)}
        self.assertEqual({code for code, _, _, _ in found.options}, set(served))
        self.assertEqual(reply.yiaddr, found.address["ip"])
        self.assertEqual(reply.siaddr, found.boot["next-server"])

    @defer.inlineCallbacks
    def test_each_option_says_where_it_came_from(self):
        yield self.store.put("class:uefi", dict(INVENTORY["class:uefi"],
                                                vivso="3561:1=http://acs.example.test/"))
        found = yield self.explain(mac=KNOWN, arches=(7,), user_class="iPXE")
        options = {code: (name, value, source) for code, name, value, source in found.options}
        self.assertEqual(options[6], ("domain-name-server", "198.51.100.53", "group:lab"))
        self.assertEqual(options[42], ("ntp-servers", "192.0.2.123", "group:default"))
        self.assertEqual(options[15], ("domain-name", "subnet.example.test",
                                       "subnet:" + SUBNET))
        self.assertEqual(options[3][2], "subnet:" + SUBNET)  # its gateway
        self.assertEqual(options[1], ("subnet-mask", "255.255.255.0", "subnet:" + SUBNET))
        self.assertEqual(options[66][2], "class:uefi")
        self.assertEqual(options[17], ("root-path", "host", "mac:" + KNOWN))
        self.assertEqual(options[125], ("vi-vendor-specific", "3561:1=http://acs.example.test/",
                                        "class:uefi"))
        self.assertNotIn(60, options)  # no PXE client: no echo, no option 43
        self.assertNotIn(43, options)

    @defer.inlineCallbacks
    def test_a_pxe_client_is_shown_the_option_60_echo_and_the_default_option_43(self):
        """The server answers a PXE client that it boots with option 60 `PXEClient` and,
        where the inventory gives no option 43, discovery control 8 (boot.py): explain lists
        both, with that origin, as the server sends them."""
        pxe = "PXEClient:Arch:00007:UNDI:003016"
        found = yield self.explain(mac=KNOWN, arches=(7,), vendor_class=pxe)
        options = {code: (name, value, source) for code, name, value, source in found.options}
        self.assertEqual(options[60], ("vendor-class-identifier", "PXEClient", ECHO))
        self.assertEqual(options[43], ("vendor-specific", "060108ff", PXE_DEFAULT))
        reply = yield self.discover(KNOWN, pxe.encode(), user_class=None)[0]
        self.assertEqual((reply.options[60], reply.options[43]),
                         (b"PXEClient", b"\x06\x01\x08\xff"))
        served = {code for code in reply.options if code not in (53, 54, 51, 58, 59)}
        self.assertEqual({code for code, _, _, _ in found.options}, served)
        # the named PXE fields are option 43 instead, from their layer; 60 is still the echo
        yield self.store.put("class:uefi", dict(INVENTORY["class:uefi"],
                                                **{"pxe-discovery-control": "3"}))
        found = yield self.explain(mac=KNOWN, arches=(7,), vendor_class=pxe)
        options = {code: (name, value, source) for code, name, value, source in found.options}
        self.assertEqual(options[43], ("vendor-specific", "060103ff", "class:uefi"))
        self.assertEqual(options[60][2], ECHO)
        # an HTTP boot client gets its echo, and no option 43
        found = yield self.explain(mac=KNOWN, arches=(7,), vendor_class="HTTPClient:Arch:00016")
        options = {code: (value, source) for code, _, value, source in found.options}
        self.assertEqual(options[60], ("HTTPClient", ECHO))
        self.assertNotIn(43, options)
        # a client the reply does not boot (no boot file) gets neither
        found = yield self.explain(mac=UNKNOWN, vendor_class=pxe)
        self.assertEqual(found.boot["boot-file"], "")
        self.assertFalse({60, 43} & {code for code, _, _, _ in found.options})

    @defer.inlineCallbacks
    def test_a_reserved_address_another_client_holds_gives_nothing(self):
        """The reservation came after a dynamic lease on its address: until that lease ends
        the server answers the reserved host nothing (LeaseAllocation._check_reservation)
        and explain says so, reading the lease's holder only."""
        source = AddressSource(SUBNET, parse_ranges("198.51.100.10-198.51.100.20"))
        yield self.store.commit(DYNAMIC, "198.51.100.15", source, 600, NOW - 10)
        yield self.store.put("mac:" + UNKNOWN, {"ip": "198.51.100.15"})
        before = yield self.snapshot()
        found = yield self.explain(mac=UNKNOWN)
        self.assertEqual(found.address, {"kind": "reserved", "ip": "198.51.100.15",
                                         "key": "mac:" + UNKNOWN})
        self.assertEqual(found.dropped, "reserved 198.51.100.15 is leased to " + DYNAMIC)
        self.assertEqual(found.drop_kind, "reserved-conflict")
        self.assertEqual(found.as_json()["drop_kind"], "reserved-conflict")
        self.assertEqual((yield self.snapshot()), before)
        reply, server = self.discover(UNKNOWN, user_class=None)
        self.assertIsNone((yield reply))
        self.assertEqual(server.counters[("dropped", "reserved-conflict")], 1)
        # the holder itself, or once the lease has ended: no conflict
        found = yield self.explain(mac=DYNAMIC)
        self.assertIsNone(found.dropped)
        found = yield explain(self.store, Query(mac=UNKNOWN, giaddr=RELAY), LINK, NOW + 600)
        self.assertEqual((found.dropped, found.drop_kind), (None, None))

    @defer.inlineCallbacks
    def test_other_drops_say_their_kind(self):
        found = yield self.explain(mac=UNKNOWN, giaddr="203.0.113.1")
        self.assertEqual(found.drop_kind, "no-subnet")
        found = yield self.explain(mac=KNOWN)
        self.assertEqual((found.dropped, found.drop_kind), (None, None))


class MemoryExplainTests(ExplainContract, unittest.TestCase):
    def setUp(self):
        self.store = MemoryStore()
        for key, fields in INVENTORY.items():
            self.store.put(key, dict(fields))

    def snapshot(self):
        state = (copy.deepcopy(self.store.data), dict(self.store.lease_records),
                 set(self.store.reserved), dict(self.store.offers), dict(self.store.cursors),
                 dict(self.store.dry))
        return defer.succeed(state)

    def server_store(self):
        return self.store

    def clock(self):
        from twisted.internet.task import Clock
        clock = Clock()
        clock.advance(NOW)
        return clock


class RedisExplainTests(RedisTestMixin, ExplainContract, unittest.TestCase):
    timeout = 30

    @defer.inlineCallbacks
    def setUp(self):
        super().setUp()
        self.store = yield connected_store(self, self.redis)
        for key, fields in INVENTORY.items():
            yield self.store.put(key, dict(fields))

    def snapshot(self):
        """Every key with its type, its value and whether it expires."""
        state = {}
        for key in self.redis.cli("--scan").split():
            kind = self.redis.cli("TYPE", key).strip()
            read = {"hash": ("HGETALL",), "set": ("SMEMBERS",), "string": ("GET",),
                    "zset": ("ZRANGE", "0", "-1", "WITHSCORES"),
                    "list": ("LRANGE", "0", "-1")}[kind]
            value = self.redis.cli(*read[:1], key, *read[1:])
            if kind in ("hash", "set"):
                value = sorted(value.split("\n"))
            state[key] = (kind, value, self.redis.cli("TTL", key).strip() != "-1")
        state["dbsize"] = self.redis.cli("DBSIZE").strip()
        return defer.succeed(state)

    def server_store(self):
        return self.store

    def clock(self):
        """The server's clock says NOW, as explain is told (the store's I/O is the reactor's)."""
        from twisted.internet.task import Clock
        clock = Clock()
        clock.advance(NOW)
        return clock
