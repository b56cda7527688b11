"""The seed's master/standby pair on one LAN sharing one Redis: the standby stays silent while
the master lives and takes over, with renewals and (--allow-slave) new clients, when it dies."""

import os
import re
import sys
import time

from twisted.trial import unittest

from tests.integration import clients
from tests.integration.apidhcpd import ServerProcess, seed
from tests.integration.netns import make_lan, require_root_and_tools
from tests.redisserver import shared_redis


class StandbyTests(unittest.TestCase):
    timeout = 120

    def setUp(self):
        require_root_and_tools(self, "dhclient", "busybox", "redis-server", "curl")
        self.redis = shared_redis("standby")
        self.redis.flushall()
        seed(self.redis)
        lan = make_lan(self)
        self.master_host = lan.add_host("master", "192.0.2.1/24")
        self.standby_host = lan.add_host("standby", "192.0.2.2/24")
        self.cli = lan.add_host("cli")
        self.cli2 = lan.add_host("cli2")
        secret = os.path.join(lan.mkdtemp("secret"), "heartbeat-secret")
        with open(secret, "w") as f:
            f.write("integration-heartbeat-secret-7d2e\n")
        os.chmod(secret, 0o600)
        self.master = ServerProcess(self.master_host, self.redis.unix_url,
                                    "--heartbeat-port", "8079", "--heartbeat-listen", "192.0.2.1",
                                    "--heartbeat-secret-file", secret)
        self.standby = ServerProcess(self.standby_host, self.redis.unix_url,
                                     "--heartbeat-port", "8079", "--slave", "--allow-slave",
                                     "--master-ip", "192.0.2.1", "--peer-interval", "0.5s",
                                     "--peer-timeout", "0.4s", "--heartbeat-secret-file", secret)

    def test_takeover_keeps_leases_and_allocates_without_collisions(self):
        lease = clients.run_dhclient(self.cli)
        self.assertTrue(lease.ok, lease.log)
        self.assertEqual(lease.server_id, "192.0.2.1")
        self.assertIn("standby: the master is alive", self.standby.log())

        killed = time.monotonic()
        self.master.proc.kill()
        self.standby.wait_for("this standby takes over", timeout=10)
        takeover = time.monotonic() - killed
        self.assertLess(takeover, 4.0)

        again = clients.dhclient_renew(self.cli, lease)
        # REBOOT normally; BOUND when a loaded machine made dhclient give up on its INIT-REBOOT
        # and start over: either way the same address, now from the standby
        self.assertIn(again.reason, ("REBOOT", "BOUND"))
        self.assertEqual((again.ip, again.server_id), (lease.ip, "192.0.2.2"))
        other = clients.run_udhcpc(self.cli2)
        self.assertTrue(other.ok, other.log)
        self.assertNotEqual(other.ip, lease.ip)
        self.assertEqual(self.redis.cli("HGET", "lease:" + other.ip, "mac").strip(),
                         self.cli2.mac)
        print("\ntakeover after %.1fs; standby log: %d answered while master dead"
              % (takeover, len(re.findall(r"-> (offer|ack)", self.standby.log()))))

    def test_a_device_answering_on_the_masters_address_does_not_keep_the_standby_silent(self):
        """After the master's apidhcpd dies, something else on its address answers 200 on
        :8079/ping (here a plain web server in the master's namespace): not the master."""
        lease = clients.run_dhclient(self.cli)
        self.assertEqual((lease.ok, lease.server_id), (True, "192.0.2.1"), lease.log)
        self.master.proc.kill()
        self.master.proc.wait(timeout=10)
        self.master_host.spawn([sys.executable, "-c", IMPOSTOR])
        deadline = time.monotonic() + 10
        while b"ok" not in self.master_host.run(
                ["curl", "-sS", "--max-time", "1", "http://192.0.2.1:8079/ping"],
                check=False).stdout.encode():
            self.assertLess(time.monotonic(), deadline, "the impostor did not come up")
            time.sleep(0.1)
        self.standby.wait_for("this standby takes over", timeout=10)
        self.assertIn("an unsigned answer", self.standby.log())
        again = clients.run_udhcpc(self.cli2)
        self.assertTrue(again.ok, again.log)
        self.assertEqual(again.server_id, "192.0.2.2")


IMPOSTOR = """
from http.server import BaseHTTPRequestHandler, HTTPServer

class Ok(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok (standalone)\\n"
        self.send_response(200)
        self.send_header("X-Apidhcpd-Server-Id", "192.0.2.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

HTTPServer(("192.0.2.1", 8079), Ok).serve_forever()
"""
