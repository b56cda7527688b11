"""The admin API of a running `twistd -n apidhcpd`, over real HTTP (curl inside the server's
namespace, on its own loopback), with a real dhclient: a host written through the API is served
without a restart, and a lease ended through the API is gone from Redis."""

import json
import os
import time

from prometheus_client.parser import text_string_to_metric_families
from twisted.trial import unittest

from tests.integration import clients
from tests.integration.apidhcpd import ServerProcess, seed
from tests.integration.clients6 import Dhclient6, add_address6, enable_ipv6
from tests.integration.netns import make_lan, random_mac, require_root_and_tools
from tests.redisserver import RedisServer, shared_redis

PORT = 8080  # on the namespace's own loopback
TOKEN = "integration-token-5b1f0c"


def in_pool(ip):
    return ip is not None and 100 <= int(ip.rsplit(".", 1)[1]) <= 250


def samples(text):
    """{(sample name, ((label, value), ...) sorted): value} of a /metrics page."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


class LiveAPITests(unittest.TestCase):
    timeout = 120

    def setUp(self):
        require_root_and_tools(self, "dhclient", "redis-server", "curl")
        self.redis = shared_redis("integration")
        self.redis.flushall()
        seed(self.redis)
        self.lan = make_lan(self)
        self.srv = self.lan.add_host("srv", "192.0.2.1/24")
        self.cli = self.lan.add_host("cli")
        token_file = os.path.join(self.lan.mkdtemp("token"), "api-token")
        with open(token_file, "w") as f:
            f.write(TOKEN + "\n")
        self.server = ServerProcess(self.srv, self.redis.unix_url,
                                    "--api-listen", "127.0.0.1:%d" % PORT,
                                    "--api-token-file", token_file)
        deadline = time.monotonic() + 15
        # not /status: its pool figures would then be counted (and kept 30 s) before the test
        while self.http("GET", "/api/v1/groups/default")[0] != 200:
            self.assertLess(time.monotonic(), deadline, "the API did not come up:\n"
                            + self.server.log())
            time.sleep(0.1)

    def http(self, method, path, body=None, token=TOKEN):
        """curl in the server's namespace: (status, parsed JSON or text); status 0 when
        nothing answered."""
        argv = ["curl", "-sS", "--max-time", "10", "-X", method, "-o", "-",
                "-w", "\n%{http_code}", "http://127.0.0.1:%d%s" % (PORT, path)]
        if token:
            argv += ["-H", "Authorization: Bearer " + token]
        if body is not None:
            argv += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
        done = self.srv.run(argv, check=False, input=None if body is None else json.dumps(body))
        text, _, code = done.stdout.rpartition("\n")
        try:
            return int(code), json.loads(text) if text.strip() else None
        except ValueError:
            return (int(code) if code.isdigit() else 0), text

    def hget(self, key, field):
        return self.redis.cli("HGET", key, field).strip()

    def test_a_host_written_through_the_api_is_served_without_a_restart(self):
        path = "/api/v1/hosts/" + self.cli.mac.upper().replace(":", "-")
        body = {"ip": "192.0.2.42", "hostname": "api-host", "description": "Made by the API"}
        self.assertEqual(self.http("PUT", path, body, token=None)[0], 401)
        self.assertEqual(self.http("PUT", path, body, token="wrong")[0], 401)
        self.assertEqual(self.redis.cli("EXISTS", "mac:" + self.cli.mac).strip(), "0")
        code, entry = self.http("PUT", path, body)
        self.assertEqual((code, entry["key"]), (201, "mac:" + self.cli.mac))
        self.assertEqual(self.hget("mac:" + self.cli.mac, "ip"), "192.0.2.42")
        self.assertEqual(self.redis.cli("SISMEMBER", "reserved", "192.0.2.42").strip(), "1")
        lease = clients.run_dhclient(self.cli)
        self.assertTrue(lease.ok, lease.log)
        self.assertEqual((lease.ip, lease.hostname, lease.server_id),
                         ("192.0.2.42", "api-host", "192.0.2.1"))
        code, entry = self.http("GET", path)
        self.assertTrue(entry["fields"]["ts"].isdigit())
        code, error = self.http("PUT", "/api/v1/hosts/" + random_mac(), {"ip": "192.0.2.42"})
        self.assertEqual((code, error["error"]), (409, "address already reserved"))

    def test_an_ipv6_network_and_reservation_written_and_read_back(self):
        """A subnet6 (written in a long form, keyed in RFC 5952 form) and a host with both
        families' reservations, through the live API: read back, in the indexes the DHCPv6
        lookup reads, counted as pools."""
        code, entry = self.http("PUT", "/api/v1/subnets6/2001:0DB8:0001:0000::/64", {
            "range": "2001:db8:1::1000-2001:db8:1::1fff", "pd-pool": "2001:db8:100::/48 56",
            "dns6": "2001:db8::53", "valid-lifetime": "2h"})
        self.assertEqual((code, entry["key"]), (201, "subnet6:2001:db8:1::/64"), entry)
        path = "/api/v1/hosts/" + self.cli.mac
        code, entry = self.http("PUT", path, {"ip": "192.0.2.44", "ip6": "2001:db8:1::44",
                                              "prefix6": "2001:db8:100:4400::/56"})
        self.assertEqual(code, 201, entry)
        code, entry = self.http("GET", "/api/v1/subnets6/2001:db8:1::/64", token=None)
        self.assertEqual((code, entry["fields"]["pd-pool"]), (200, "2001:db8:100::/48 56"))
        code, entry = self.http("GET", path, token=None)
        self.assertEqual((entry["fields"]["ip6"], entry["fields"]["prefix6"]),
                         ("2001:db8:1::44", "2001:db8:100:4400::/56"))
        code, page = self.http("GET", "/api/v1/subnets6", token=None)
        self.assertEqual([e["id"] for e in page["items"]], ["2001:db8:1::/64"])
        self.assertEqual(self.redis.cli("ZSCORE", "subnets6", "2001:db8:1::/64").strip(), "64")
        self.assertEqual(sorted(self.redis.cli("SMEMBERS", "reserved6").split()),
                         ["2001:db8:100:4400::/56", "2001:db8:1::44"])
        code, error = self.http("PUT", "/api/v1/duids/00030001" + self.cli.mac.replace(":", ""),
                                {"ip6": "2001:db8:1::44"})
        self.assertEqual((code, error["error"]), (409, "address already reserved"))
        code, status = self.http("GET", "/api/v1/status", token=None)
        self.assertEqual([(p["name"], p["size"]) for p in status["pools"]
                          if p["name"].startswith("subnet6:")],
                         [("subnet6:2001:db8:1::/64", 4096),
                          ("subnet6:2001:db8:1::/64#pd", 256)])
        code, leases = self.http("GET", "/api/v1/leases?family=6", token=None)
        self.assertEqual((code, leases["items"]), (200, []))

    def test_a_lease_ended_through_the_api_is_gone_from_redis(self):
        lease = clients.run_dhclient(self.cli)
        self.assertTrue(lease.ok and in_pool(lease.ip), lease.log)
        _, found = self.http("GET", "/api/v1/leases?state=bound&mac=" + self.cli.mac)
        self.assertEqual([(x["ip"], x["mac"]) for x in found["items"]],
                         [(lease.ip, self.cli.mac)])
        self.assertEqual(self.http("DELETE", "/api/v1/leases/" + lease.ip, token=None)[0], 401)
        self.assertEqual(self.hget("lease:" + lease.ip, "state"), "bound")
        self.assertEqual(self.http("DELETE", "/api/v1/leases/" + lease.ip)[0], 204)
        self.assertEqual(self.redis.cli("EXISTS", "lease:" + lease.ip).strip(), "0")
        self.assertEqual(self.redis.cli("ZSCORE", "leases", lease.ip).strip(), "")
        self.assertEqual(self.redis.cli("HEXISTS", "mac:" + self.cli.mac, "ip").strip(), "0")
        self.assertEqual(self.http("GET", "/api/v1/leases/" + lease.ip)[0], 404)

    def test_legacy_query_status_and_metrics(self):
        mac = random_mac()
        code, answer = self.http("POST", "/", {"mac": mac, "client": None}, token=None)
        # the seed's query: its own types, and the address bound at once (a real Redis)
        self.assertEqual((code, answer["method"], answer["leasetime"], answer["prefix"]),
                         (200, "Dynamic", 1800 * 10 ** 9, "24"))
        self.assertTrue(in_pool(answer["ip"]), answer)
        self.assertEqual((self.hget("lease:" + answer["ip"], "mac"),
                          self.hget("lease:" + answer["ip"], "state")), (mac, "bound"))
        self.assertEqual(self.hget("mac:" + mac, "description"), "dynamic:")
        code, status = self.http("GET", "/api/v1/status")
        self.assertEqual((status["role"], status["redis"]["ok"]), ("standalone", True))
        self.assertEqual([(p["name"], p["bound"]) for p in status["pools"]],
                         [("group:pool", 1)])
        code, text = self.http("GET", "/metrics")
        self.assertEqual(code, 200)
        found = samples(text)
        self.assertEqual(found[("apidhcpd_packets_answered_total",
                                (("reply", "ack"), ("type", "request")))], 1)
        # the DISCOVER's offer and the REQUEST's commit ride in their lookups' round trips
        self.assertEqual(found[("apidhcpd_store_call_seconds_count", (("op", "lookup"),))], 2)
        self.assertNotIn('op="commit"', text)

    def curl(self, *argv, data=None, seconds=10):
        """The status curl gets for `argv` on the API, the body sent from stdin."""
        done = self.srv.run(["curl", "-sS", "--max-time", str(seconds), "-o", "/dev/null", "-w",
                             "%{http_code}"] + list(argv) + (["--data-binary", "@-"]
                                                             if data is not None else []),
                            check=False, input=data)
        return int(done.stdout or 0)

    def test_what_a_web_page_or_a_careless_client_sends_is_refused(self):
        url = "http://127.0.0.1:%d/" % PORT
        query = json.dumps({"mac": random_mac()})
        self.assertEqual(self.curl("-X", "POST", "-H", "Content-Type: text/plain", url,
                                   data=query), 415)
        self.assertEqual(self.curl("-X", "POST", "-H", "Content-Type: application/json",
                                   "-H", "Origin: http://evil.example", url, data=query), 403)
        self.assertEqual(self.curl("-X", "POST", "-H", "Content-Type: application/json",
                                   url, data=" " * (2 << 20)), 413)
        host = "%sapi/v1/hosts/%s" % (url, self.cli.mac)
        # (curl -X HEAD waits for a body that a HEAD answer never has: hence 2 s)
        self.assertEqual(self.curl("-X", "HEAD", "-H", "Authorization: Bearer " + TOKEN,
                                   "-H", "Content-Type: application/json", host,
                                   data=json.dumps({"ip": "192.0.2.43"}), seconds=2), 404)
        self.assertEqual(self.redis.cli("EXISTS", "mac:" + self.cli.mac).strip(), "0")
        self.assertEqual(self.redis.cli("KEYS", "lease:*").strip(), "")


class LiveAPI6Tests(unittest.TestCase):
    """A live server that also serves DHCPv6 (--dhcp6 on): what the API writes is what ISC
    dhclient -6 gets, and its exchange shows in the lease listing and in /metrics."""

    timeout = 120
    http = LiveAPITests.http

    def setUp(self):
        require_root_and_tools(self, "dhclient", "redis-server", "curl", "sysctl", "unshare")
        self.redis = shared_redis("integration")
        self.redis.flushall()
        seed(self.redis)
        self.lan = make_lan(self)
        self.srv = self.lan.add_host("srv", "192.0.2.1/24")
        enable_ipv6(self.srv)
        add_address6(self.srv, "2001:db8:1::1/64")
        self.cli = self.lan.add_host("cli")
        enable_ipv6(self.cli)
        token_file = os.path.join(self.lan.mkdtemp("token"), "api-token")
        with open(token_file, "w") as f:
            f.write(TOKEN + "\n")
        self.server = ServerProcess(self.srv, self.redis.unix_url, "--dhcp6", "on",
                                    "--api-listen", "127.0.0.1:%d" % PORT,
                                    "--api-token-file", token_file)
        self.server.wait_for("serving DHCPv6")

    def test_a_reservation_written_through_the_api_is_served_and_counted(self):
        code, _ = self.http("PUT", "/api/v1/subnets6/2001:db8:1::/64",
                            {"range": "2001:db8:1::100-2001:db8:1::1ff", "dns6": "2001:db8::53"})
        self.assertEqual(code, 201)
        code, _ = self.http("PUT", "/api/v1/hosts/" + self.cli.mac, {"ip6": "2001:db8:1::45"})
        self.assertEqual(code, 201)
        client = Dhclient6(self.cli, "-1").start()
        events = client.wait()
        bound = [e for e in events if e.reason == "BOUND6"]
        self.assertEqual([e.address for e in bound], ["2001:db8:1::45"],
                         client.log() + self.server.log())
        code, page = self.http("GET", "/api/v1/leases?family=6", token=None)
        # a reservation's lease: from no pool, held by the client's DUID-LL (dhclient -D LL)
        self.assertEqual([(x["ip"], x["kind"], x["state"], x["duid"], x["pool"])
                          for x in page["items"]],
                         [("2001:db8:1::45", "na", "bound",
                           "00030001" + self.cli.mac.replace(":", ""), "")])
        code, text = self.http("GET", "/metrics", token=None)
        found = samples(text)
        self.assertEqual(found[("apidhcpd_dhcp6_packets_answered_total",
                                (("reply", "advertise"), ("type", "solicit")))], 1)
        self.assertEqual(found[("apidhcpd_dhcp6_packets_answered_total",
                                (("reply", "reply"), ("type", "request")))], 1)
        self.assertEqual(found[("apidhcpd_pool_size", (("pool", "subnet6:2001:db8:1::/64"),))],
                         256)


class PasswordRedisTests(unittest.TestCase):
    """A live server on a Redis with an ACL user and no default user (what docs/operations.md
    tells a two-node setup to run): it serves with the user and password in --redis, and says
    plainly why it cannot without them."""

    timeout = 120

    def setUp(self):
        require_root_and_tools(self, "dhclient", "redis-server")
        self.redis = RedisServer(config=["user dhcp on >live-pw-81c3 ~* &* +@all",
                                         "user default off"],
                                 cli_auth=["--user", "dhcp", "--pass", "live-pw-81c3",
                                           "--no-auth-warning"]).start()
        self.addCleanup(self.redis.stop)
        seed(self.redis)
        self.lan = make_lan(self)
        self.srv = self.lan.add_host("srv", "192.0.2.1/24")
        self.cli = self.lan.add_host("cli")

    def test_served_with_the_user_and_password_in_the_url(self):
        ServerProcess(self.srv, "unix://dhcp:live-pw-81c3@%s?db=0" % self.redis.unix_path)
        lease = clients.run_dhclient(self.cli)
        self.assertTrue(lease.ok and in_pool(lease.ip), lease.log)
        self.assertEqual(self.redis.cli("HGET", "lease:" + lease.ip, "mac").strip(),
                         self.cli.mac)

    def test_without_them_the_log_says_why(self):
        server = ServerProcess(self.srv, "unix://%s?db=0" % self.redis.unix_path)
        server.wait_for("refused apidhcpd", timeout=10)
        self.assertIn("NOAUTH", server.log())
        self.assertFalse(clients.run_dhclient(self.cli, timeout=4).ok)
