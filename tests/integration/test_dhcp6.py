"""apidhcpd serving DHCPv6 under twistd with a real Redis, to ISC dhclient -6 in namespaces
(2001:db8::/32 only): a reserved address, a dynamic one renewed and released, a delegated
prefix, and a client behind ISC dhcrelay -6."""

import ipaddress
import re

from twisted.trial import unittest

from tests.integration.apidhcpd import ServerProcess, seed
from tests.integration.clients6 import Dhclient6, add_address6, enable_ipv6
from tests.integration.netns import make_lan, require_root_and_tools
from tests.redisserver import shared_redis

RANGE = (ipaddress.IPv6Address("2001:db8:1::100"), ipaddress.IPv6Address("2001:db8:1::1ff"))
PD_POOL = ipaddress.IPv6Network("2001:db8:100::/48")
INVENTORY6 = [
    ("group:default", {"dns6": "2001:db8::53", "search": "example.test"}),
    ("subnet6:2001:db8:1::/64", {"range": "2001:db8:1::100-2001:db8:1::1ff",
                                 "pd-pool": "2001:db8:100::/48 56",
                                 "valid-lifetime": "60s", "preferred-lifetime": "30s",
                                 "t1": "4s", "t2": "8s"}),
    ("subnet6:2001:db8:2::/64", {"range": "2001:db8:2::100-2001:db8:2::1ff",
                                 "dns6": "2001:db8:2::53"}),
]


def in_range(address):
    return address is not None and RANGE[0] <= ipaddress.IPv6Address(address) <= RANGE[1]


class Dhcp6TestCase(unittest.TestCase):
    timeout = 120

    def setUp(self):
        require_root_and_tools(self, "dhclient", "redis-server", "sysctl", "unshare")
        self.redis = shared_redis("dhcp6")
        self.redis.flushall()
        seed(self.redis)
        seed(self.redis, INVENTORY6)
        self.lan = make_lan(self)  # torn down (processes killed, namespaces deleted) always
        self.srv = self.lan.add_host("srv", "192.0.2.1/24")
        enable_ipv6(self.srv)
        add_address6(self.srv, "2001:db8:1::1/64")

    def start(self, *args, host=None):
        server = ServerProcess(host or self.srv, self.redis.unix_url, "--dhcp6", "on", *args)
        server.wait_for("serving DHCPv6")
        return server

    def client(self, name="cli"):
        host = self.lan.add_host(name)
        enable_ipv6(host)
        return host

    def bound(self, dhclient, count=1, server=None):
        events = dhclient.wait(count=count)
        found = [e for e in events if e.reason == "BOUND6"]
        self.assertEqual(len(found), count, dhclient.log() + (server.log() if server else ""))
        return found


class RealClientTests(Dhcp6TestCase):
    def setUp(self):
        super().setUp()
        self.server = self.start()
        self.cli = self.client()

    def test_a_reserved_mac_gets_its_address_and_the_options(self):
        self.redis.cli("HSET", "mac:" + self.cli.mac, "ip6", "2001:db8:1::10")
        (event,) = self.bound(Dhclient6(self.cli, "-1").start(), server=self.server)
        self.assertEqual(event.address, "2001:db8:1::10")
        self.assertEqual((event.preferred, event.valid, event.renew, event.rebind),
                         (30, 60, 4, 8))
        self.assertEqual((event.dns, event.search), (["2001:db8::53"], ["example.test"]))

    def test_a_dynamic_address_is_renewed_then_released(self):
        client = Dhclient6(self.cli).start()
        (event,) = self.bound(client, server=self.server)
        self.assertTrue(in_range(event.address), event.address)
        events = client.wait(reasons=("RENEW6",), timeout=15)  # T1 is 4 s
        renewed = [e for e in events if e.reason == "RENEW6"]
        self.assertTrue(renewed, client.log() + self.server.log())
        self.assertEqual(renewed[0].address, event.address)
        self.assertEqual(renewed[0].valid, 60)
        released = client.release()
        self.assertIsNotNone(released, client.log())
        self.assertEqual(released.address, event.address)
        self.server.wait_for("RELEASE from")
        self.assertRegex(self.server.log(), r"RELEASE from \S+ .*-> reply %s" % event.address)
        # released: the next client may have it (it is no longer this one's)
        other = Dhclient6(self.client("cli2"), "-1", "-N").start()
        (again,) = self.bound(other, server=self.server)
        self.assertTrue(in_range(again.address))

    def test_a_delegated_prefix_and_an_address_together(self):
        client = Dhclient6(self.cli, "-1", "-N", "-P").start()
        events = self.bound(client, count=2, server=self.server)
        prefixes = [e.prefix for e in events if e.prefix]
        addresses = [e.address for e in events if e.address]
        self.assertEqual(len(prefixes), 1, events)
        network = ipaddress.IPv6Network(prefixes[0])
        self.assertEqual(network.prefixlen, 56)
        self.assertTrue(network.subnet_of(PD_POOL), network)
        self.assertTrue(in_range(addresses[0]), addresses)

    def test_a_reserved_prefix(self):
        self.redis.cli("HSET", "mac:" + self.cli.mac, "prefix6", "2001:db8:200::/56")
        (event,) = self.bound(Dhclient6(self.cli, "-1", "-P").start(), server=self.server)
        self.assertEqual(event.prefix, "2001:db8:200::/56")

    def test_the_server_duid_survives_a_restart(self):
        (first,) = self.bound(Dhclient6(self.cli, "-1").start(), server=self.server)
        self.server.proc.terminate()
        self.server.proc.wait(timeout=10)
        self.server = self.start()
        (second,) = self.bound(Dhclient6(self.client("cli2"), "-1").start(),
                               server=self.server)
        self.assertEqual(second.server_id, first.server_id)


class RelayedTests(Dhcp6TestCase):
    """client LAN 2001:db8:2::/64 -- dhcrelay -6 -- server LAN 2001:db8:1::/64"""

    def setUp(self):
        require_root_and_tools(self, "dhcrelay")
        super().setUp()
        self.client_lan = make_lan(self)
        self.relay = self.lan.add_host("relay")
        enable_ipv6(self.relay)
        add_address6(self.relay, "2001:db8:1::2/64")
        self.client_lan.attach(self.relay, iface="eth1")
        enable_ipv6(self.relay, "eth1")
        add_address6(self.relay, "2001:db8:2::1/64", iface="eth1")
        self.srv.run(["ip", "-6", "route", "add", "2001:db8:2::/64", "via", "2001:db8:1::2"])
        self.relay.run(["sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"])
        self.relay.spawn(["dhcrelay", "-6", "-d", "--no-pid", "-I", "-l", "eth1",
                          "-u", "2001:db8:1::1%eth0"])
        self.cli = self.client_lan.add_host("cli")
        enable_ipv6(self.cli)
        self.server = self.start()

    def test_a_client_behind_dhcrelay_gets_the_relays_network(self):
        (event,) = self.bound(Dhclient6(self.cli, "-1").start(), server=self.server)
        address = ipaddress.IPv6Address(event.address)
        self.assertIn(address, ipaddress.IPv6Network("2001:db8:2::/64"))
        self.assertEqual(event.dns, ["2001:db8:2::53"])
        self.assertIn("relays=1", self.server.log())

    def test_the_interface_id_finds_a_host(self):
        """dhcrelay -I tags what it relays with an interface-id of its own choosing (binary:
        a key spells it in hex); the log line names it, so a `relay:` key can be written."""
        first = Dhclient6(self.cli, "-1").start()
        self.bound(first, server=self.server)
        first.stop()
        found = re.search(r"interface-id=(\S+) -> reply", self.server.log())
        self.assertIsNotNone(found, self.server.log())
        self.redis.cli("HSET", "relay:" + found.group(1), "ip6", "2001:db8:2::77")
        other = self.client_lan.add_host("cli2")
        enable_ipv6(other)
        (event,) = self.bound(Dhclient6(other, "-1").start(), server=self.server)
        self.assertEqual(event.address, "2001:db8:2::77")
