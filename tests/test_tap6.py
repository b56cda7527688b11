"""Start-up of DHCPv6 beside DHCPv4: --dhcp6 auto|on|off, the interfaces and store it needs,
and the socket bound before privileges are dropped."""

import ipaddress
import socket

from twisted.internet.task import Clock
from twisted.python import usage
from twisted.trial import unittest

from apidhcpd import tap
from apidhcpd.dhcp6 import duid as duids
from apidhcpd.dhcp6.interface import Addresses6
from apidhcpd.store.memory import MemoryStore

ADDRESSES = {
    "eth0": Addresses6("eth0", 2, "02:00:00:00:00:01", "fe80::1",
                       ipaddress.IPv6Interface("2001:db8:1::1/64")),
    "eth1": Addresses6("eth1", 3, None, "fe80::2", ipaddress.IPv6Interface("2001:db8:2::1/64")),
    "eth2": Addresses6("eth2", 4, "02:00:00:00:00:03", "fe80::3", None),
}


class V4Only(MemoryStore):
    """A store that cannot serve DHCPv6 (as the HTTP store of --api-url)."""

    lookup6 = None


class Dhcp6StartTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.patch(tap.interface, "address_of",
                   lambda name: ipaddress.IPv4Interface("192.0.2.%d/24" % (len(name) + 1)))
        self.patch(tap.interface6, "addresses_of", lambda name: ADDRESSES[name])
        self.store = MemoryStore()
        self.patch(tap, "_backend", lambda options, reactor: self.store)

    def start(self, *argv, interfaces="eth0"):
        options = tap.Options()
        options.parseOptions(["--interface", interfaces, "--heartbeat-port", "0",
                              "--api-listen", "none"] + list(argv))
        top = tap.makeService(options, Clock())
        return [s for s in top if isinstance(s, tap.DHCP6Service)]

    def test_bad_mode_is_refused(self):
        e = self.assertRaises(usage.UsageError, tap.Options().parseOptions,
                              ["--dhcp6", "maybe"])
        self.assertIn("--dhcp6 must be auto, on or off", str(e))

    def test_auto_serves_the_interfaces_with_a_global_address(self):
        served = self.start(interfaces="eth0,eth1,eth2")
        self.assertEqual([(s.protocol.link.name, s.protocol.link.address,
                           str(s.protocol.link.network), s.required) for s in served],
                         [("eth0", "2001:db8:1::1", "2001:db8:1::/64", False),
                          ("eth1", "2001:db8:2::1", "2001:db8:2::/64", False)])
        first, second = (s.protocol.server for s in served)
        self.assertIs(first.counters, second.counters)
        self.assertEqual((first.policy.name, second.policy.name),
                         ("%s/eth0" % socket.gethostname(), "%s/eth1" % socket.gethostname()))
        proposed = duids.parse(bytes.fromhex(first.policy.proposed_duid))
        self.assertEqual((proposed.type, proposed.mac), (1, "02:00:00:00:00:01"))
        self.assertEqual(duids.parse(bytes.fromhex(second.policy.proposed_duid)).type, 4)

    def test_the_api_counts_the_dhcpv6_servers(self):
        """/metrics reads the counters every DHCPv6 server shares and the malformed
        datagrams of each of their protocols."""
        made = []
        real = tap.api.AdminAPI
        self.patch(tap.api, "AdminAPI", lambda *a, **kw: made.append(kw) or real(*a, **kw))
        options = tap.Options()
        options.parseOptions(["--interface", "eth0,eth1", "--heartbeat-port", "0",
                              "--api-listen", "127.0.0.1:18080"])
        top = tap.makeService(options, Clock())
        served = [s.protocol for s in top if isinstance(s, tap.DHCP6Service)]
        self.assertIs(made[0]["counters6"], served[0].server.counters)
        served[0].malformed, served[1].malformed = 2, 3
        self.assertEqual(made[0]["protocol6"].malformed, 5)

    def test_on_needs_a_global_address_on_every_interface(self):
        self.assertEqual(len(self.start("--dhcp6", "on", interfaces="eth0,eth1")), 2)
        e = self.assertRaises(tap.StartupError, self.start, "--dhcp6", "on",
                              interfaces="eth0,eth2")
        self.assertEqual(e.code, "apidhcpd: --dhcp6 on: interface eth2 has no global IPv6 "
                                 "address")

    def test_an_interface_the_dhcpv6_side_cannot_read(self):
        def missing(name):
            raise tap.interface6.InterfaceError("interface %s does not exist" % name)
        self.patch(tap.interface6, "addresses_of", missing)
        self.assertEqual(self.start(), [])
        e = self.assertRaises(tap.StartupError, self.start, "--dhcp6", "on")
        self.assertEqual(e.code, "apidhcpd: interface eth0 does not exist")

    def test_off_serves_none(self):
        self.assertEqual(self.start("--dhcp6", "off"), [])

    def test_a_store_without_dhcpv6(self):
        self.store = V4Only()
        self.assertEqual(self.start(), [])
        e = self.assertRaises(tap.StartupError, self.start, "--dhcp6", "on")
        self.assertIn("cannot serve DHCPv6", e.code)

    def test_the_options_reach_the_policy(self):
        (served,) = self.start("--offer-hold", "2m", "--decline-probation", "1h")
        policy = served.protocol.server.policy
        self.assertEqual((policy.offer_hold, policy.decline_probation), (120, 3600))


    def test_a_standby_without_allow_slave_hands_out_no_new_values(self):
        from apidhcpd.dhcp6.gates import StandbyAllocation6, StandbyFilter6

        def steps(*argv):
            (served,) = self.start("--slave", "--master-ip", "192.0.2.9", *argv)
            return [type(step) for step in served.protocol.server.chain]
        held = steps()
        self.assertEqual(held[0], StandbyFilter6)
        self.assertIn(StandbyAllocation6, held)
        self.assertNotIn(StandbyAllocation6, steps("--allow-slave"))


class Dhcp6StoreStackTests(unittest.SynchronousTestCase):
    """DHCPv6 is served from the same stack as DHCPv4: Redis behind the inventory cache and
    the outage cache (the real _backend, over a Redis it does not connect to here)."""

    def setUp(self):
        self.patch(tap.interface, "address_of",
                   lambda name: ipaddress.IPv4Interface("192.0.2.%d/24" % (len(name) + 1)))
        self.patch(tap.interface6, "addresses_of", lambda name: ADDRESSES[name])

    def stack(self, *argv):
        from apidhcpd.dhcp4.protocol import DHCPProtocol
        options = tap.Options()
        options.parseOptions(["--interface", "eth0", "--heartbeat-port", "0",
                              "--api-listen", "none", "--redis", "redis://127.0.0.1:1/0",
                              "--dhcp6", "on"] + list(argv))
        top = tap.makeService(options, Clock())
        (served6,) = [s for s in top if isinstance(s, tap.DHCP6Service)]
        (served4,) = [s for s in top if isinstance(s, tap.DHCPService)]
        self.assertIsInstance(served4.protocol, DHCPProtocol)
        store = served6.protocol.server.store
        self.assertIs(store, served4.protocol.server.store)
        layers = []
        while store is not None:
            layers.append(type(store).__name__)
            store = vars(store).get("_store")
        return layers

    def test_the_caches_stand_in_front_of_redis_for_dhcpv6_too(self):
        self.assertEqual(self.stack(), ["TimedStore", "OutageCache", "InventoryCache",
                                        "RedisStore"])
        self.assertEqual(self.stack("--cache-ttl", "0"),
                         ["TimedStore", "OutageCache", "RedisStore"])

    def test_the_dhcpv6_calls_are_the_caches(self):
        from apidhcpd.store.outage import OutageCache
        options = tap.Options()
        options.parseOptions(["--interface", "eth0", "--heartbeat-port", "0",
                              "--api-listen", "none", "--redis", "redis://127.0.0.1:1/0"])
        top = tap.makeService(options, Clock())
        (served6,) = [s for s in top if isinstance(s, tap.DHCP6Service)]
        store = served6.protocol.server.store
        self.assertIn("lookup6", vars(store))  # timed for /metrics, as lookup is
        self.assertIsInstance(store._store, OutageCache)
        self.assertEqual(type(store._store).lookup6.__module__, "apidhcpd.store.outage6")


class Dhcp6ServiceTests(unittest.SynchronousTestCase):
    def service(self, required=False, name="lo"):
        from twisted.internet import reactor

        from apidhcpd.dhcp6.protocol import DHCP6Protocol
        from apidhcpd.dhcp6.transaction import Link6
        link = Link6(name, socket.if_nametoindex("lo"), "2001:db8::1",
                     ipaddress.IPv6Network("2001:db8::/64"))
        return tap.DHCP6Service(DHCP6Protocol(None, link), reactor, required=required, port=0)

    def test_bound_in_privileged_start_and_closed_at_stop(self):
        dhcp6 = self.service()
        dhcp6.privilegedStartService()
        self.assertIsNotNone(dhcp6.port)
        self.assertIs(dhcp6.protocol.port, dhcp6.port)
        sock = dhcp6.port.socket
        self.assertEqual(sock.getsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, 16)
                         .rstrip(b"\0"), b"lo")
        dhcp6.startService()
        dhcp6.stopService()
        self.assertIsNone(dhcp6.port)
        self.assertEqual(sock.fileno(), -1)

    def test_a_socket_that_cannot_be_bound(self):
        e = self.assertRaises(tap.StartupError, self.service(True, "nope0").privilegedStartService)
        self.assertIn("cannot listen on nope0 port 0 (DHCPv6)", e.code)
        quiet = self.service(False, "nope0")
        quiet.privilegedStartService()
        quiet.startService()
        self.assertTrue(quiet.failed)
        self.assertIsNone(quiet.port)
