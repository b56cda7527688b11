"""The seed's own example data (docs/seed.md, verbatim from the Go prototype's README), loaded
into a real Redis and answered by the server: no packets leave the process."""

import ipaddress
import os
import re
import shlex

from twisted.internet import defer, reactor
from twisted.trial import unittest

from apidhcpd.dhcp4 import options as opt
from apidhcpd.dhcp4.message import Message
from apidhcpd.dhcp4.profile import Link
from apidhcpd.dhcp4.server import DHCPServer
from apidhcpd.dhcp4.transaction import Policy
from tests.redisserver import shared_redis
from tests.stores import connected_store

SEED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                    "seed.md")
LINK = Link("172.17.2.1", ipaddress.IPv4Network("172.17.0.0/16"))


def seed_commands():
    """Every `redis-cli ...` line of the seed, and its `show groups` output as HSETs."""
    text = open(SEED).read()
    commands = [shlex.split(line)[1:] for line in text.splitlines()
                if line.startswith("redis-cli ")]
    groups = re.search(r"DHCP groups:\n(.*?)```", text, re.S).group(1)
    for block in groups.strip().split("\n\n"):
        name, *fields = block.strip().splitlines()
        for field in fields:
            key, value = (part.strip() for part in field.split("=", 1))
            commands.append(["hset", name.strip(), key, value])
    return commands


class SeedDataTests(unittest.TestCase):
    def setUp(self):
        self.redis = shared_redis("seed-data")
        self.redis.flushall()
        self.commands = seed_commands()
        for command in self.commands:
            self.redis.cli(*command)
        return connected_store(self, self.redis).addCallback(self._serve)

    def _serve(self, store):
        self.warnings = []
        self.server = DHCPServer(store, Policy(server_id="172.17.2.1"), reactor)
        self.server._warn = self.warnings.append

    def discover(self, mac):
        msg = Message(xid=1, chaddr=bytes.fromhex(mac.replace(":", "")))
        msg.set(53, opt.DISCOVER)
        msg.set(55, [1, 3, 6, 12, 15, 28, 42])
        return self.server.handle(msg, LINK)

    def test_the_seed_text_was_read(self):
        self.assertEqual(len([c for c in self.commands if c[0] == "del"]), 3)
        self.assertEqual(self.redis.cli("HGET", "group:getflix", "dns").strip(),
                         "82.103.129.240,46.246.29.68")

    @defer.inlineCallbacks
    def test_kubernetes_node_gets_its_address_and_the_default_group(self):
        offer = yield self.discover("dc:a6:32:43:e5:e0")
        self.assertEqual(offer.yiaddr, "172.17.7.5")
        self.assertEqual(offer.get(51), 86400)
        self.assertEqual(offer.get(1), "255.255.0.0")
        self.assertEqual(offer.get(28), "172.17.255.255")  # not the netmask the seed stored
        self.assertEqual(offer.get(3), ["172.17.2.254"])
        self.assertEqual(offer.get(6), ["10.10.10.10"])
        self.assertEqual(offer.get(15), "ojala.cloud")
        self.assertEqual(offer.get(12), "raspberry-pi4-5")
        self.assertTrue(any("broadcast 255.255.0.0" in w for w in self.warnings))

    @defer.inlineCallbacks
    def test_chromecast_gets_the_getflix_group(self):
        offer = yield self.discover("f4:f5:d8:a9:5a:b6")
        self.assertEqual(offer.yiaddr, "172.17.4.19")
        self.assertEqual(offer.get(6), ["82.103.129.240", "46.246.29.68"])
        self.assertEqual(offer.get(42), ["172.17.2.22"])
        self.assertEqual(offer.get(12), "chromecast-ultra")

    @defer.inlineCallbacks
    def test_nest_hub_from_the_first_example(self):
        offer = yield self.discover("1c:f2:9a:68:49:b1")
        self.assertEqual((offer.yiaddr, offer.get(12)), ("172.17.3.130", "google-hub-kitchen"))

    @defer.inlineCallbacks
    def test_unknown_client_gets_the_pool_group_and_a_seed_pool_address(self):
        self.redis.cli("HSET", "pool", "172.17.9.1", "", "172.17.9.2", "02:00:00:00:00:99")
        offer = yield self.discover("02:00:00:00:00:01")
        self.assertEqual(offer.yiaddr, "172.17.9.1")
        self.assertEqual(offer.get(51), 3600)
        self.assertEqual(offer.get(6), ["10.10.10.10", "172.17.2.2"])
        self.assertEqual(offer.get(1), "255.255.0.0")  # group:pool has only the netmask-broadcast

