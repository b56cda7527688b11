"""The inventory cache on two live nodes sharing one Redis: a change made through one node's
API is seen by the next packet on both, while known hosts are answered from memory."""

import json
import os
import time

from twisted.trial import unittest

from tests.integration.apidhcpd import ServerProcess, seed
from tests.integration.netns import make_lan, random_mac, require_root_and_tools
from tests.integration.rawclient import DISCOVER, RawClient, build_packet, client_options
from tests.redisserver import shared_redis

PORT = 8080  # on each server namespace's own loopback
TOKEN = "integration-token-4e7a91"
TTL = 20  # seconds: longer than the test needs, so a fresh answer can only be invalidation


class CacheInvalidationTests(unittest.TestCase):
    timeout = 120

    def setUp(self):
        require_root_and_tools(self, "redis-server", "curl")
        self.redis = shared_redis("integration")
        self.redis.flushall()
        seed(self.redis)
        self.lan = make_lan(self)
        token_file = os.path.join(self.lan.mkdtemp("token"), "api-token")
        with open(token_file, "w") as f:
            f.write(TOKEN + "\n")
        self.nodes = {}
        for name, address in (("a", "192.0.2.1"), ("b", "192.0.2.2")):
            host = self.lan.add_host("srv" + name, address + "/24")
            ServerProcess(host, self.redis.unix_url, "--cache-ttl", "%ds" % TTL,
                          "--api-listen", "127.0.0.1:%d" % PORT, "--api-token-file",
                          token_file)
            self.nodes[address] = host
        self.client = RawClient(self.lan.add_host("cli"))
        for address in self.nodes:
            deadline = time.monotonic() + 15
            while self.http(address, "GET", "/api/v1/status")[0] != 200:
                self.assertLess(time.monotonic(), deadline, "no API on " + address)
                time.sleep(0.1)

    def http(self, node, method, path, body=None):
        argv = ["curl", "-sS", "--max-time", "10", "-X", method, "-o", "-", "-w",
                "\n%{http_code}", "-H", "Authorization: Bearer " + TOKEN,
                "http://127.0.0.1:%d%s" % (PORT, path)]
        if body is not None:
            argv += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
        done = self.nodes[node].run(argv, check=False,
                                    input=None if body is None else json.dumps(body))
        text, _, code = done.stdout.rpartition("\n")
        try:
            return int(code), json.loads(text) if text.strip() else None
        except ValueError:
            return (int(code) if code.isdigit() else 0), text

    def offers(self, mac):
        """{server: (yiaddr, DNS servers)} of the OFFERs answering one broadcast DISCOVER."""
        packet = build_packet(DISCOVER, mac, 0x5eed, client_options())
        replies = self.client.send(packet, wait=1.5)
        return {r.packet.server_id: (r.packet.yiaddr, r.packet.dns)
                for r in replies if r.packet is not None}

    def cache(self, node):
        """(hits, invalidations) from the node's /metrics."""
        _code, text = self.http(node, "GET", "/metrics")
        values = {}
        for line in text.splitlines():
            if line.startswith("apidhcpd_inventory_cache_"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return (values.get('apidhcpd_inventory_cache_lookups_total{result="hit"}', 0),
                values.get("apidhcpd_inventory_cache_invalidations_total", 0))

    def test_an_api_change_is_seen_by_the_next_packet_on_every_node(self):
        mac = random_mac()
        path = "/api/v1/hosts/" + mac.replace(":", "-")
        self.assertEqual(self.http("192.0.2.1", "PUT", path, {"ip": "192.0.2.50"})[0], 201)
        dns = "192.0.2.53"  # the seeded group:default's
        primed = time.monotonic()
        for _ in range(2):  # the first lookup fills each node's cache, the second is a hit
            self.assertEqual(self.offers(mac), {"192.0.2.1": ("192.0.2.50", [dns]),
                                                "192.0.2.2": ("192.0.2.50", [dns])})
        hits = {node: self.cache(node)[0] for node in self.nodes}
        self.assertTrue(all(count >= 1 for count in hits.values()), hits)

        # the host changes through node A's API: both nodes answer the change at once
        self.assertEqual(self.http("192.0.2.1", "PUT", path, {"ip": "192.0.2.51"})[0], 200)
        self.assertEqual(self.offers(mac), {"192.0.2.1": ("192.0.2.51", [dns]),
                                            "192.0.2.2": ("192.0.2.51", [dns])})
        # and so does a group
        _code, group = self.http("192.0.2.2", "GET", "/api/v1/groups/default")
        fields = dict(group["fields"], dns="198.51.100.53")
        self.assertEqual(self.http("192.0.2.2", "PUT", "/api/v1/groups/default", fields)[0],
                         200)
        self.assertEqual(self.offers(mac), {"192.0.2.1": ("192.0.2.51", ["198.51.100.53"]),
                                            "192.0.2.2": ("192.0.2.51", ["198.51.100.53"])})
        self.assertLess(time.monotonic() - primed, TTL, "too slow to tell invalidation from "
                        "the cache's expiry")
        for node in self.nodes:
            hits_now, invalidations = self.cache(node)
            self.assertGreater(hits_now, hits[node], node)  # answered from memory again
            self.assertGreaterEqual(invalidations, 2, node)
