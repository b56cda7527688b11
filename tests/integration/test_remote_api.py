"""--api-url: node A serves the API on Redis, node B answers DHCP through A (the seed's
dhcp-daemon -> dhcp-api split), with a real dhclient."""

import os
import time

from twisted.trial import unittest

from tests.integration import clients
from tests.integration.apidhcpd import ServerProcess
from tests.integration.netns import make_lan, require_root_and_tools
from tests.redisserver import shared_redis


class RemoteAPITests(unittest.TestCase):
    timeout = 120

    def setUp(self):
        require_root_and_tools(self, "dhclient", "redis-server")
        self.redis = shared_redis("remote-api")
        self.redis.flushall()
        self.redis.cli("HSET", "group:default", "gateway", "192.0.2.2", "prefix", "24",
                       "dns", "192.0.2.53", "domain", "example.test", "lease-time", "2h")
        backend, clients_lan = make_lan(self), make_lan(self)
        self.node_a = backend.add_host("api", "198.51.100.1/24")
        self.node_b = clients_lan.add_host("daemon", "192.0.2.2/24")
        backend.attach(self.node_b, "198.51.100.2/24", iface="eth1")
        self.cli = clients_lan.add_host("cli")
        self.redis.cli("HSET", "mac:" + self.cli.mac, "ip", "192.0.2.10", "hostname", "printer")
        self.token = os.path.join(backend.mkdtemp("token"), "token")
        with open(self.token, "w") as f:
            f.write("not-a-real-secret\n")
        self.a = self.start_a()
        self.b = ServerProcess(self.node_b, "redis://192.0.2.9:1/0", "--api-listen", "none",
                               "--api-url", "http://198.51.100.1:8080/",
                               "--api-token-file", self.token, "--redis-timeout", "1s")

    def start_a(self):
        return ServerProcess(self.node_a, self.redis.unix_url, "--api-listen",
                             "198.51.100.1:8080", "--api-token-file", self.token)

    def test_client_served_by_b_gets_the_inventorys_answer_and_survives_a_restart_of_a(self):
        lease = clients.run_dhclient(self.cli)
        self.assertTrue(lease.ok, lease.log + self.b.log())
        self.assertEqual((lease.ip, lease.server_id, lease.hostname),
                         ("192.0.2.10", "192.0.2.2", "printer"))
        self.assertEqual((lease.routers, lease.dns, lease.lease_time),
                         (["192.0.2.2"], ["192.0.2.53"], 7200))

        self.a.proc.terminate()
        self.a.proc.wait(timeout=10)
        self.assertFalse(clients.run_dhclient(self.cli, timeout=4).ok)
        self.assertIn("-> drop", self.b.log())
        self.assertIn("API http://198.51.100.1:8080/ unreachable", self.b.log())
        self.assertTrue(self.b.alive())

        self.a = self.start_a()
        deadline = time.monotonic() + 20
        again = clients.run_dhclient(self.cli, timeout=8)
        while not again.ok and time.monotonic() < deadline:
            again = clients.run_dhclient(self.cli, timeout=8)
        self.assertEqual((again.ok, again.ip), (True, "192.0.2.10"))
