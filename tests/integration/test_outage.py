"""Redis cut off while clients renew: known clients keep their addresses from the server's
cache, new clients wait, nothing crashes, and service resumes with no lease lost."""

import os
import subprocess
import time

from twisted.trial import unittest

from tests.integration import clients
from tests.integration.apidhcpd import INVENTORY, ServerProcess
from tests.integration.netns import make_lan, require_root_and_tools


class OutageTests(unittest.TestCase):
    timeout = 120

    def setUp(self):
        require_root_and_tools(self, "dhclient", "busybox", "redis-server")
        self.lan = make_lan(self)
        self.dir = self.lan.mkdtemp("redis")
        self.sock = os.path.join(self.dir, "redis.sock")
        self.start_redis()
        for key, fields in INVENTORY:
            self.cli("HSET", key, *[x for kv in fields.items() for x in kv])
        self.srv = self.lan.add_host("srv", "192.0.2.1/24")
        self.known = self.lan.add_host("known")
        self.dynamic = self.lan.add_host("dynamic")
        self.cli("HSET", "mac:" + self.known.mac, "ip", "192.0.2.10")

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

    def test_known_clients_renew_through_an_outage_and_no_lease_is_lost(self):
        server = ServerProcess(self.srv, "unix://%s?db=0" % self.sock, "--redis-timeout", "0.5s")
        known = clients.run_dhclient(self.known)
        dynamic = clients.run_dhclient(self.dynamic)
        self.assertTrue(known.ok and dynamic.ok, known.log + dynamic.log)
        self.assertEqual(known.ip, "192.0.2.10")

        self.redis.kill()
        self.redis.wait()
        os.unlink(self.sock)
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
