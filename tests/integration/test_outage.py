"""Redis cut off while clients renew: known clients keep their addresses from the server's
cache, new clients wait, nothing crashes, and service resumes with no lease lost; for DHCPv4
and for DHCPv6."""

import ipaddress
import os
import subprocess
import time

from twisted.trial import unittest

from tests.integration import clients
from tests.integration.apidhcpd import INVENTORY, ServerProcess
from tests.integration.clients6 import Dhclient6, add_address6, enable_ipv6
from tests.integration.netns import make_lan, require_root_and_tools


class PrivateRedis:
    """A redis-server of the test's own on a unix socket in the Lan's work dir, with its
    append-only file on (leases survive its restart); stopped by PID."""

    def setUp(self):
        self.lan = make_lan(self)
        self.dir = self.lan.mkdtemp("redis")
        self.sock = os.path.join(self.dir, "redis.sock")
        self.start_redis()
        for key, fields in INVENTORY:
            self.cli("HSET", key, *[x for kv in fields.items() for x in kv])

    def stop_redis(self):
        self.redis.kill()
        self.redis.wait()
        os.unlink(self.sock)

    def start_redis(self):
        self.redis = subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket", self.sock, "--dir", self.dir,
             "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
            stdout=subprocess.DEVNULL)
        self.addCleanup(lambda p=self.redis: (p.kill(), p.wait()))
        for _ in range(100):
            if os.path.exists(self.sock) and self.cli("PING") == "PONG":
                return
            time.sleep(0.05)

    def cli(self, *args):
        return subprocess.run(["redis-cli", "-s", self.sock] + list(args), capture_output=True,
                              text=True, timeout=10).stdout.strip()


class OutageTests(PrivateRedis, unittest.TestCase):
    timeout = 120

    def setUp(self):
        require_root_and_tools(self, "dhclient", "busybox", "redis-server")
        super().setUp()
        self.srv = self.lan.add_host("srv", "192.0.2.1/24")
        self.known = self.lan.add_host("known")
        self.dynamic = self.lan.add_host("dynamic")
        self.cli("HSET", "mac:" + self.known.mac, "ip", "192.0.2.10")

    def test_known_clients_renew_through_an_outage_and_no_lease_is_lost(self):
        server = ServerProcess(self.srv, "unix://%s?db=0" % self.sock, "--redis-timeout", "0.5s")
        known = clients.run_dhclient(self.known)
        dynamic = clients.run_dhclient(self.dynamic)
        self.assertTrue(known.ok and dynamic.ok, known.log + dynamic.log)
        self.assertEqual(known.ip, "192.0.2.10")

        self.stop_redis()
        again = clients.dhclient_renew(self.known, known)
        self.assertEqual((again.reason, again.ip), ("REBOOT", "192.0.2.10"))
        renewed = clients.dhclient_renew(self.dynamic, dynamic)
        self.assertEqual((renewed.reason, renewed.ip), ("REBOOT", dynamic.ip))
        self.assertLessEqual(renewed.lease_time, dynamic.lease_time)  # not extended
        newcomer = self.lan.add_host("newcomer")
        self.assertFalse(clients.run_udhcpc(newcomer, timeout=4).ok)
        self.assertTrue(server.alive())
        self.assertIn("answering", server.log())

        self.start_redis()
        server.wait_for("store reachable again", timeout=15)
        self.assertEqual(self.cli("HGET", "lease:" + dynamic.ip, "mac"), self.dynamic.mac)
        late = clients.run_udhcpc(newcomer)
        self.assertTrue(late.ok, late.log)
        self.assertNotEqual(late.ip, dynamic.ip)


RANGE6 = (ipaddress.IPv6Address("2001:db8:1::100"), ipaddress.IPv6Address("2001:db8:1::1ff"))


class Outage6Tests(PrivateRedis, unittest.TestCase):
    """DHCPv6 through a Redis outage: a bound dhclient -6 renews (T1 4 s) from the server's
    cache, for the lease's remaining time only; a new client waits; Redis back, renewals
    extend the lease again and the new client is served."""

    timeout = 120

    def setUp(self):
        require_root_and_tools(self, "dhclient", "redis-server", "sysctl", "unshare")
        super().setUp()
        self.cli("HSET", "subnet6:2001:db8:1::/64", "range", "2001:db8:1::100-2001:db8:1::1ff",
                 "valid-lifetime", "60s", "preferred-lifetime", "30s", "t1", "4s", "t2", "8s")
        self.cli("HSET", "group:default", "dns6", "2001:db8::53")
        self.srv = self.lan.add_host("srv", "192.0.2.1/24")
        enable_ipv6(self.srv)
        add_address6(self.srv, "2001:db8:1::1/64")
        self.known = self.lan.add_host("known")
        enable_ipv6(self.known)
        self.newcomer = self.lan.add_host("newcomer")
        enable_ipv6(self.newcomer)

    def renewals(self, client):
        return [e for e in client.events() if e.reason == "RENEW6"]

    def next_renewal(self, client, server, timeout=15):
        """The client's next RENEW6 event (a REPLY to its RENEW), waited for."""
        before = len(self.renewals(client))
        client.wait(reasons=("RENEW6",), count=before + 1, timeout=timeout)
        found = self.renewals(client)
        self.assertGreater(len(found), before, client.log() + server.log())
        return found[before]

    def test_a_known_client_renews_through_an_outage(self):
        server = ServerProcess(self.srv, "unix://%s?db=0" % self.sock, "--dhcp6", "on",
                               "--redis-timeout", "0.5s")
        server.wait_for("serving DHCPv6")
        client = Dhclient6(self.known).start()
        bound = [e for e in client.wait() if e.reason == "BOUND6"]
        self.assertEqual(len(bound), 1, client.log() + server.log())
        address = bound[0].address
        self.assertTrue(RANGE6[0] <= ipaddress.IPv6Address(address) <= RANGE6[1], address)

        self.stop_redis()
        renewed = self.next_renewal(client, server)  # at T1, 4 s after it was bound
        self.assertEqual(renewed.address, address)
        self.assertLessEqual(renewed.valid, 56)  # what is left of the lease, not a new one
        self.assertIn("store unreachable: answering", server.log())
        newcomer = Dhclient6(self.newcomer).start()
        self.assertFalse([e for e in newcomer.wait(timeout=5) if e.reason == "BOUND6"])
        newcomer.stop()
        self.assertTrue(server.alive())

        self.start_redis()
        server.wait_for("store reachable again", timeout=15)
        again = self.next_renewal(client, server)
        self.assertEqual((again.address, again.valid), (address, 60))  # extended again
        self.assertEqual(self.cli("HGET", "lease6:" + address, "state"), "bound")
        late = Dhclient6(self.newcomer).start()
        served = [e for e in late.wait() if e.reason == "BOUND6"]
        self.assertEqual(len(served), 1, late.log() + server.log())
        self.assertNotEqual(served[0].address, address)
