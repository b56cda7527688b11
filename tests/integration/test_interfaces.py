"""Several interfaces: one process serving two LANs, and two processes on two interfaces of
one host, each with real clients in namespaces.

The server's namespace has eth0 on a LAN 192.0.2.0/24 (the groups' network, as in the seed)
and eth1 on a LAN 198.51.100.0/24 (a `subnet:` key); a client on each LAN must get an address
of its own network, its own router and the server identifier of the interface it came in on.
"""

import ipaddress
import json
import sys

from twisted.trial import unittest

from tests.integration import clients
from tests.integration.apidhcpd import ServerProcess, seed
from tests.integration.netns import make_lan, require_root_and_tools
from tests.redisserver import shared_redis

# the second LAN: its own router, DNS and range; its dynamic clients take group:default's
# options under these (group:pool, the seed's dynamic group, is the first LAN's)
SECOND = ("subnet:198.51.100.0/24", {"gateway": "198.51.100.1", "prefix": "24",
                                     "dns": "198.51.100.53", "lease-time": "1h",
                                     "range": "198.51.100.100-198.51.100.150",
                                     "group": "default"})


def within(ip, first, last):
    return ip is not None and \
        ipaddress.IPv4Address(first) <= ipaddress.IPv4Address(ip) <= ipaddress.IPv4Address(last)


class TwoLansTestCase(unittest.TestCase):
    timeout = 120

    def setUp(self):
        require_root_and_tools(self, "dhclient", "busybox", "redis-server")
        self.redis = shared_redis("interfaces")
        self.redis.flushall()
        seed(self.redis)
        seed(self.redis, [SECOND])
        self.lan = make_lan(self)
        self.lan2 = make_lan(self)
        self.srv = self.lan.add_host("srv", "192.0.2.1/24")
        self.lan2.attach(self.srv, "198.51.100.1/24", iface="eth1")
        self.cli = self.lan.add_host("cli")
        self.cli2 = self.lan2.add_host("cli")

    def start(self, *args):
        return ServerProcess(self.srv, self.redis.unix_url, *args)

    def assert_both_lans_served(self):
        first = clients.run_dhclient(self.cli)
        self.assertTrue(first.ok, first.log)
        self.assertTrue(within(first.ip, "192.0.2.100", "192.0.2.250"), first.ip)
        self.assertEqual((first.server_id, first.routers, first.prefix),
                         ("192.0.2.1", ["192.0.2.1"], 24))
        second = clients.run_udhcpc(self.cli2)
        self.assertTrue(second.ok, second.log)
        self.assertTrue(within(second.ip, "198.51.100.100", "198.51.100.150"), second.ip)
        self.assertEqual((second.server_id, second.routers, second.dns, second.lease_time),
                         ("198.51.100.1", ["198.51.100.1"], ["198.51.100.53"], 3600))
        self.assertEqual(self.redis.cli("HGET", "lease:" + second.ip, "mac").strip(),
                         self.cli2.mac)
        return first, second

    def get(self, path):
        """GET on the admin API inside the server's namespace."""
        code = ("import urllib.request, sys; "
                "sys.stdout.write(urllib.request.urlopen(%r, timeout=5).read().decode())"
                % ("http://127.0.0.1:8080" + path))
        return self.srv.run([sys.executable, "-c", code]).stdout


class OneProcessTests(TwoLansTestCase):
    def test_one_process_serves_each_lan_from_its_own_network(self):
        server = self.start("--interface", "eth0,eth1")
        server.wait_for("serving DHCP on eth1")
        self.assertIn("serving DHCP on eth0 (192.0.2.0/24)", server.log())
        self.assertIn("serving DHCP on eth1 (198.51.100.0/24)", server.log())
        self.assert_both_lans_served()
        # one set of counters for the process: both interfaces' exchanges are in /metrics
        metrics = self.get("/metrics")
        acks = [line for line in metrics.splitlines()
                if line.startswith("apidhcpd_packets_answered_total{")
                and 'type="request"' in line and 'reply="ack"' in line]
        self.assertEqual([float(line.rsplit(" ", 1)[1]) for line in acks], [2], metrics)
        status = json.loads(self.get("/api/v1/status"))
        self.assertEqual(status["server_id"], "192.0.2.1")

    def test_server_identifiers_given_per_interface(self):
        self.srv.add_address("198.51.100.2/24", iface="eth1")
        self.start("--interface", "eth0,eth1", "--id", "192.0.2.1,198.51.100.2")
        second = clients.run_udhcpc(self.cli2)
        self.assertTrue(second.ok, second.log)
        self.assertEqual(second.server_id, "198.51.100.2")


class TwoProcessTests(TwoLansTestCase):
    def test_two_processes_on_two_interfaces_both_start_and_serve(self):
        """Before: the second failed "address in use" (bound to 0.0.0.0:67 before
        SO_BINDTODEVICE)."""
        first = self.start("--interface", "eth0")
        second = self.start("--interface", "eth1", "--api-listen", "none")
        self.assert_both_lans_served()
        self.assertTrue(first.alive() and second.alive())
        self.assertIn("-> ack", first.log())
        self.assertIn("-> ack", second.log())
        self.assertNotIn("198.51.100", "\n".join(
            line for line in first.log().splitlines() if "-> " in line))

    def test_a_second_process_on_the_same_interface_fails_with_one_line(self):
        self.start("--interface", "eth0")
        again = ServerProcess.__new__(ServerProcess)
        with self.assertRaises(AssertionError) as caught:
            again.__init__(self.srv, self.redis.unix_url, "--interface", "eth0",
                           "--api-listen", "none")
        self.assertIn("cannot listen on eth0 port 67", str(caught.exception))
        self.assertNotIn("Traceback", again.log())
