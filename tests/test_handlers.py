"""Handler details that the whole-server tests (test_server.py) do not single out."""

import ipaddress

from twisted.internet import defer
from twisted.trial import unittest

from apidhcpd.dhcp4.handlers import GroupOptions
from apidhcpd.dhcp4.message import Message
from apidhcpd.dhcp4.profile import Link, Profile
from apidhcpd.dhcp4.transaction import Transaction
from apidhcpd.store.contract import Host, Lookup
from tests.redisserver import RedisTestMixin
from tests.stores import connected_store

LINK = Link("192.0.2.1", ipaddress.IPv4Network("192.0.2.0/24"))


def transaction(lookup):
    request = Message(chaddr=bytes.fromhex("020000000b01"))
    request.set(53, 1)
    tx = Transaction(request, LINK, 1_000_000)
    tx.lookup = lookup
    return tx


class GroupOptionsTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.built = 0
        self.step = GroupOptions(warn=lambda message: None)
        build = self.step._build

        def counting(*args):
            self.built += 1
            return build(*args)

        self.step._build = counting

    def profile(self, lookup):
        tx = transaction(lookup)
        self.successResultOf(defer.ensureDeferred(self.step(tx)))
        return tx.profile

    def test_the_same_hashes_give_the_same_profile_and_a_changed_one_a_new_profile(self):
        group, default = {"dns": "192.0.2.53"}, {"gateway": "192.0.2.1", "prefix": "24"}
        host = Host("mac:02:00:00:00:0b:01", {"ip": "192.0.2.9", "ts": "1"})
        first = self.profile(Lookup(host, "lab", group, default))
        again = self.profile(Lookup(host, "lab", group, default))
        self.assertIs(again, first)
        self.assertEqual(self.built, 1)
        # equal content in new dicts (a store that copies): still one build
        copy = self.profile(Lookup(Host(host.key, dict(host.fields, ts="2")), "lab",
                                   dict(group), dict(default)))
        self.assertIs(copy, first)
        self.assertEqual(self.built, 1)
        # a changed group arrives as a new dict: a new profile
        changed = self.profile(Lookup(host, "lab", {"dns": "198.51.100.53"}, default))
        self.assertEqual(self.built, 2)
        self.assertEqual(changed.options[6], bytes([198, 51, 100, 53]))
        self.assertEqual(first.options[6], bytes([192, 0, 2, 53]))

    def test_dynamic_clients_share_their_groups_profile(self):
        group, default = {"dns": "192.0.2.53"}, {"gateway": "192.0.2.1", "prefix": "24"}
        first = None
        for n in range(20):  # lease records: mac:<mac> {ip, dynamic, ts}, a new dict each
            record = Host("mac:02:00:00:00:0c:%02x" % n,
                          {"ip": "192.0.2.%d" % (100 + n), "dynamic": "1", "ts": str(n)})
            profile = self.profile(Lookup(record, "pool", group, default))
            self.assertIs(profile, first or profile)
            first = profile
        self.assertEqual((self.built, len(self.step.cache)), (1, 1))

    def test_both_caches_are_capped_in_entries_and_bytes(self):
        step = GroupOptions(warn=lambda message: None, cache_size=5, max_bytes=4_000)

        def serve(n, size):
            host = Host("mac:02:00:00:00:0d:%02x" % n, {"ip": "192.0.2.%d" % (10 + n),
                                                        "option-224": "%02x" % n * size})
            tx = transaction(Lookup(host, "default", {}, {"prefix": "24"}))
            self.successResultOf(defer.ensureDeferred(step(tx)))
            self.assertEqual(tx.profile.options[224], bytes([n]) * size)
            for cache in (step.cache, step.by_identity):
                self.assertLessEqual(len(cache), 5)
                self.assertLessEqual(cache.bytes, 4_000)

        for n in range(20):  # hosts with fields of their own: a profile each
            serve(n, 10)
        self.assertEqual(len(step.cache), 5)  # the newest five, not a cleared cache
        for n in range(20, 40):  # larger ones: the bytes bind first
            serve(n, 800)
        self.assertEqual(len(step.cache), 2)


class ProfileTests(unittest.SynchronousTestCase):
    def test_holds_only_dotted_quads_on_its_network(self):
        profile = Profile(3600, ipaddress.IPv4Network("192.0.2.0/24"), {})
        self.assertEqual([profile.holds(ip) for ip in ("192.0.2.7", "192.0.2.255",
                                                       "192.0.3.1", "192.0.2", "junk", "")],
                         [True, True, False, False, False, False])


def seed_example(store):
    """examples/inventory.sh (the seed's own example inventory) into a MemoryStore."""
    import os
    import shlex
    path = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "inventory.sh")
    with open(path) as f:
        for line in f:
            words = shlex.split(line, comments=True)
            if words[:2] == ["$R", "hset"] and "$" not in "".join(words[2:]):
                store.data.setdefault(words[2], {})[words[3]] = words[4]
    for n in range(200, 210):
        store.data.setdefault("pool", {})["192.0.2.%d" % n] = ""


def relayed(mac, giaddr="198.51.100.1", mtype=1, **options):
    msg = Message(op=1, xid=11, giaddr=giaddr, hops=1 if giaddr != "0.0.0.0" else 0,
                  chaddr=bytes.fromhex(mac.replace(":", "")))
    msg.set(53, mtype)
    msg.set(55, [1, 3, 28, 33, 121, 249, 6])
    for code, value in options.items():
        msg.set(int(code[1:]), value)
    return msg


class NetworkBoundOptionTests(unittest.TestCase):
    """A client is sent a router, netmask, broadcast address and static routes of the subnet
    it was placed on: a group's (or group:default's, or a host's) network-bound fields apply
    only where its network is that subnet (issue 10, item 11)."""

    LAN_ROUTER = "192.0.2.254"  # the seed's group:pool and group:default gateway

    def setUp(self):
        from twisted.internet.task import Clock

        from apidhcpd.dhcp4.server import DHCPServer
        from apidhcpd.dhcp4.transaction import Policy
        from apidhcpd.store.memory import MemoryStore
        self.clock = Clock()
        self.clock.advance(1_000_000)
        self.store = MemoryStore()
        seed_example(self.store)
        self.store.hset("subnet:198.51.100.0/24", gateway="198.51.100.1",
                        range="198.51.100.10-198.51.100.20")
        self.server = DHCPServer(self.store, Policy(server_id="192.0.2.1"), self.clock)
        self.warnings = []
        self.server._warn = self.warnings.append

    def ask(self, msg):
        out = []
        self.server.handle(msg, LINK).addCallback(out.append)
        self.clock.advance(0)
        self.assertEqual(len(out), 1)
        self.assertIsNotNone(out[0], "no answer")
        return out[0]

    def assertOnNetwork(self, reply, router, network="198.51.100.0/24"):
        net = ipaddress.IPv4Network(network)
        self.assertIn(ipaddress.IPv4Address(reply.yiaddr), net)
        self.assertEqual((reply.get(3), reply.get(1), reply.get(28)),
                         (router, str(net.netmask), str(net.broadcast_address)))

    def test_a_relayed_pool_client_gets_the_subnets_router(self):
        offer = self.ask(relayed("02:00:00:00:0b:11"))
        self.assertOnNetwork(offer, ["198.51.100.1"])
        self.assertEqual(offer.get(6), ["192.0.2.53", "192.0.2.2"])  # the group's, not bound
        self.assertTrue(any("192.0.2.254" in w and "198.51.100.0/24" in w
                            for w in self.warnings), self.warnings)
        ack = self.ask(relayed("02:00:00:00:0b:11", mtype=3, o50=offer.yiaddr,
                               o54="192.0.2.1"))
        self.assertEqual(ack.message_type, 5)
        self.assertOnNetwork(ack, ["198.51.100.1"])

    def test_a_local_pool_client_still_gets_the_groups_router(self):
        offer = self.ask(relayed("02:00:00:00:0b:12", giaddr="0.0.0.0"))
        self.assertOnNetwork(offer, [self.LAN_ROUTER], "192.0.2.0/24")

    def test_a_subnet_without_a_gateway_sends_no_router_rather_than_anothers(self):
        del self.store.data["subnet:198.51.100.0/24"]["gateway"]
        self.assertOnNetwork(self.ask(relayed("02:00:00:00:0b:13")), None)

    def test_a_reserved_host_keeps_a_group_gateway_on_its_network(self):
        self.store.hset("group:lab", gateway="198.51.100.254", prefix="24",
                        routes="203.0.113.0/24 198.51.100.253")
        self.store.hset("mac:02:00:00:00:0b:14", ip="198.51.100.77", group="lab")
        offer = self.ask(relayed("02:00:00:00:0b:14"))
        self.assertOnNetwork(offer, ["198.51.100.254"])
        self.assertEqual(offer.get(121), [("203.0.113.0/24", "198.51.100.253"),
                                          ("0.0.0.0/0", "198.51.100.254")])

    def test_a_reserved_host_of_a_lan_group_gets_the_subnets_values(self):
        # group:getflix (seed) routes by 192.0.2.254; the host was moved behind the relay
        self.store.hset("group:getflix", routes="203.0.113.0/24 192.0.2.253",
                        option_ms_classless_static_route="203.0.113.0/24 192.0.2.253",
                        option_static_route="cb007101c00002fd")
        self.store.hset("mac:02:00:00:00:0b:15", ip="198.51.100.78", group="getflix")
        offer = self.ask(relayed("02:00:00:00:0b:15"))
        self.assertOnNetwork(offer, ["198.51.100.1"])
        for code in (33, 121, 249):
            self.assertNotIn(code, offer.options)
        self.assertEqual(offer.get(6), ["198.51.100.240", "198.51.100.68"])

    def test_a_group_whose_prefix_is_another_networks_does_not_apply(self):
        self.store.hset("group:wide", gateway="198.51.100.250", prefix="16")
        self.store.hset("subnet:198.51.100.0/24", group="wide")
        self.assertOnNetwork(self.ask(relayed("02:00:00:00:0b:16")), ["198.51.100.1"])

    def test_a_host_override_off_the_subnet_is_not_sent(self):
        self.store.hset("mac:02:00:00:00:0b:17", ip="198.51.100.79", gateway="192.0.2.9",
                        option_subnet_mask="255.255.0.0",
                        option_broadcast_address="192.0.2.255")
        self.assertOnNetwork(self.ask(relayed("02:00:00:00:0b:17")), ["198.51.100.1"])


class NetworkBoundRedisTests(RedisTestMixin, unittest.TestCase):
    """The same on a real Redis, as the server runs (lookups in Lua, the inventory cache on
    top, or not): the fields the Lua lookup returns are judged the same way."""

    timeout = 20

    def setUp(self):
        super().setUp()
        from apidhcpd.store.memory import MemoryStore
        seed = MemoryStore()
        seed_example(seed)
        seed.hset("subnet:198.51.100.0/24", gateway="198.51.100.1",
                  range="198.51.100.10-198.51.100.20")
        seed.hset("group:lab", gateway="198.51.100.254", prefix="24")
        seed.hset("mac:02:00:00:00:0b:14", ip="198.51.100.77", group="lab")
        for key, fields in seed.data.items():
            self.redis.cli("HSET", key, *[x for kv in fields.items() for x in kv])

    @defer.inlineCallbacks
    def routers(self, cached):
        from twisted.internet import reactor

        from apidhcpd.dhcp4.server import DHCPServer
        from apidhcpd.dhcp4.transaction import Policy
        from apidhcpd.store.inventorycache import InventoryCache
        from apidhcpd.store.redis import RedisStore, RedisURL
        from tests.stores import sleep
        if cached:  # as tap.py wires it
            store = InventoryCache(RedisStore(RedisURL.parse(self.redis.url), reactor), reactor)
            store.connect()
            self.addCleanup(store.disconnect)
            for _ in range(250):
                if store.connected and store._groups is not None:
                    break
                yield sleep(0.02)
        else:
            store = yield connected_store(self, self.redis)
        server = DHCPServer(store, Policy(server_id="192.0.2.1"), reactor, log_exchanges=False)
        found = []
        for _ in range(2):  # the second time from the inventory cache, where there is one
            for mac, giaddr in (("02:00:00:00:0b:11", "198.51.100.1"),
                                ("02:00:00:00:0b:12", "0.0.0.0"),
                                ("02:00:00:00:0b:14", "198.51.100.1")):
                offer = yield server.handle(relayed(mac, giaddr), LINK)
                found.append((offer.yiaddr.rsplit(".", 1)[0], offer.get(3)))
        return found

    @defer.inlineCallbacks
    def test_each_client_gets_a_router_on_its_own_network(self):
        expected = [("198.51.100", ["198.51.100.1"]), ("192.0.2", ["192.0.2.254"]),
                    ("198.51.100", ["198.51.100.254"])] * 2
        self.assertEqual((yield self.routers(cached=False)), expected)
        self.assertEqual((yield self.routers(cached=True)), expected)
