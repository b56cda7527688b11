"""Relayed service: a real client behind ISC dhcrelay, and option 82 from a relay."""

import time

from twisted.trial import unittest

from tests.integration import clients
from tests.integration.apidhcpd import ServerProcess
from tests.integration.netns import make_lan, random_mac, require_root_and_tools
from tests.integration.rawclient import RawClient, build_packet, client_options
from tests.redisserver import shared_redis

SUBNETS = [
    ("group:default", {"dns": "192.0.2.53", "domain": "example.test", "lease-time": "1h"}),
    ("subnet:198.51.100.0/24", {"gateway": "198.51.100.1", "range": "198.51.100.10-198.51.100.20",
                                "lease-time": "20m"}),
    ("subnet:192.0.2.0/24", {"gateway": "192.0.2.1", "range": "192.0.2.100-192.0.2.120"}),
]


def relayed_lans(test, redis_key, inventory):
    """On `test`: `redis` (a test redis-server holding `inventory`), a server LAN
    192.0.2.0/24 with `srv` (192.0.2.1) and `relay` (192.0.2.254, also 198.51.100.1 on the
    client LAN, `client_lan`), and srv's route to the client LAN through the relay."""
    test.redis = shared_redis(redis_key)
    test.redis.flushall()
    for key, fields in inventory:
        test.redis.cli("HSET", key, *[x for kv in fields.items() for x in kv])
    test.server_lan = make_lan(test)
    test.client_lan = make_lan(test)
    test.srv = test.server_lan.add_host("srv", "192.0.2.1/24")
    test.srv.run(["ip", "route", "add", "198.51.100.0/24", "via", "192.0.2.254"])
    test.relay = test.server_lan.add_host("relay", "192.0.2.254/24")
    test.client_lan.attach(test.relay, "198.51.100.1/24", iface="eth1")


class RelayTests(unittest.TestCase):
    timeout = 120

    def setUp(self):
        require_root_and_tools(self, "dhclient", "busybox", "dhcrelay", "redis-server")
        # server LAN 192.0.2.0/24 <- relay -> client LAN 198.51.100.0/24
        relayed_lans(self, "relay", SUBNETS)
        self.relay.spawn(["dhcrelay", "-4", "-d", "--no-pid", "-a", "-id", "eth1",
                          "-iu", "eth0", "192.0.2.1"])
        self.remote = self.client_lan.add_host("cli")
        self.local = self.server_lan.add_host("local")

    def start(self, *args):
        return ServerProcess(self.srv, self.redis.unix_url, *args)

    def test_client_behind_dhcrelay_gets_the_relayed_subnet(self):
        server = self.start()
        lease = clients.run_dhclient(self.remote)
        self.assertTrue(lease.ok, lease.log + server.log())
        self.assertTrue(lease.ip.startswith("198.51.100."), lease.ip)
        self.assertTrue(10 <= int(lease.ip.rsplit(".", 1)[1]) <= 20)
        self.assertEqual((lease.routers, lease.lease_time, lease.dns),
                         (["198.51.100.1"], 1200, ["192.0.2.53"]))
        # dhcrelay -a sent option 82 with circuit-id "eth1": kept with the lease
        stored = self.redis.cli("HGET", "lease:" + lease.ip, "relay").strip()
        self.assertTrue(stored.startswith("0104" + b"eth1".hex()), stored)

    def test_local_client_still_gets_a_local_address(self):
        self.start()
        lease = clients.run_udhcpc(self.local)
        self.assertTrue(lease.ok, lease.log)
        self.assertTrue(lease.ip.startswith("192.0.2.1"), lease.ip)
        self.assertEqual(lease.routers, ["192.0.2.1"])

    def test_option_82_comes_back_unchanged_and_link_selection_picks_the_subnet(self):
        self.start()
        agent = self.server_lan.add_host("agent", "192.0.2.253/24")
        # circuit-id "sw1/7", remote-id "abc", RFC 3527 link selection 198.51.100.0
        info = (bytes.fromhex("0105") + b"sw1/7" + bytes.fromhex("0203") + b"abc"
                + bytes.fromhex("0504c6336400"))
        packet = build_packet(1, random_mac(), 99, client_options() + [(82, info)],
                              flags=0, giaddr="192.0.2.253")
        replies = RawClient(agent).send(packet, dest="192.0.2.1", sport=67, wait=2.0)
        self.assertEqual(len(replies), 1)
        offer = replies[0].packet
        self.assertEqual((replies[0].src, replies[0].sport), ("192.0.2.1", 67))
        self.assertEqual(offer.giaddr, "192.0.2.253")
        self.assertEqual(offer.options[82], info)
        self.assertTrue(offer.yiaddr.startswith("198.51.100."))

    def test_untrusted_relay_gets_no_answer(self):
        server = self.start("--trusted-relays", "192.0.2.99")
        lease = clients.run_dhclient(self.remote, timeout=6)
        self.assertFalse(lease.ok)
        self.assertIn("relay 198.51.100.1 is not trusted", server.log())
        self.assertTrue(clients.run_udhcpc(self.local).ok)

    def test_two_workers_split_relayed_clients_by_chaddr(self):
        server = self.start("--workers", "2")
        server.wait_for("[worker-1]", timeout=20)
        time.sleep(1)
        agent = self.server_lan.add_host("agent", "192.0.2.253/24")
        macs = ["02:00:00:00:07:%02x" % n for n in range(8)]
        packets = [build_packet(1, mac, 100 + n, client_options(), flags=0, giaddr="192.0.2.253")
                   for n, mac in enumerate(macs)]
        replies = RawClient(agent).send(packets, dest="192.0.2.1", sport=67, wait=3.0)
        self.assertEqual(sorted(r.packet.xid for r in replies), list(range(100, 108)))
        offers = [line for line in server.log().splitlines() if "-> offer" in line]
        by_worker = {mac for mac in macs for line in offers
                     if mac in line and "worker-1" in line}
        odd = {mac for mac in macs if int(mac[-2:], 16) % 2}
        self.assertEqual((len(offers), by_worker), (8, odd))
