"""apidhcpd against real clients (dhclient, udhcpc, dhcpcd, a raw sender) in namespaces."""

import ipaddress
import os
import subprocess
import time

from twisted.trial import unittest

from tests.integration import clients
from tests.integration.apidhcpd import ServerProcess, seed
from tests.integration.netns import make_lan, random_mac, require_root_and_tools
from tests.integration.rawclient import RawClient, build_packet
from tests.redisserver import shared_redis

POOL = ipaddress.ip_network("192.0.2.0/24")


def in_pool(ip):
    return ip is not None and 100 <= int(ip.rsplit(".", 1)[1]) <= 250


class ServerTestCase(unittest.TestCase):
    timeout = 120

    def setUp(self):
        require_root_and_tools(self, "dhclient", "busybox", "dhcpcd", "redis-server")
        self.redis = shared_redis("integration")
        self.redis.flushall()
        seed(self.redis)
        self.lan = make_lan(self)
        self.srv = self.lan.add_host("srv", "192.0.2.1/24")
        self.cli = self.lan.add_host("cli")

    def start(self, *args, host=None):
        return ServerProcess(host or self.srv, self.redis.unix_url, *args)

    def hget(self, key, field):
        return self.redis.cli("HGET", key, field).strip()


class RealClientTests(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.start()

    def test_dhclient_gets_its_reservation_and_group_options(self):
        self.redis.cli("HSET", "mac:" + self.cli.mac, "ip", "192.0.2.10",
                       "hostname", "printer", "description", "The printer")
        lease = clients.run_dhclient(self.cli)
        self.assertTrue(lease.ok, lease.log)
        self.assertEqual((lease.ip, lease.netmask), ("192.0.2.10", "255.255.255.0"))
        self.assertEqual(lease.routers, ["192.0.2.1"])
        self.assertEqual(lease.dns, ["192.0.2.53"])
        self.assertEqual(lease.domain, "example.test")
        self.assertEqual(lease.lease_time, 7200)
        self.assertEqual(lease.server_id, "192.0.2.1")
        self.assertEqual(lease.hostname, "printer")
        self.assertTrue(self.hget("mac:" + self.cli.mac, "ts").isdigit())

    def test_udhcpc_and_dhcpcd_get_distinct_pool_addresses(self):
        other = self.lan.add_host("cli2")
        first = clients.run_udhcpc(self.cli)
        second = clients.run_dhcpcd(other)
        self.assertTrue(first.ok, first.log)
        self.assertTrue(second.ok, second.log)
        self.assertTrue(in_pool(first.ip) and in_pool(second.ip), (first.ip, second.ip))
        self.assertNotEqual(first.ip, second.ip)
        self.assertEqual((first.lease_time, first.dns), (1800, ["192.0.2.53", "192.0.2.54"]))
        self.assertEqual(second.domain, "pool.example.test")
        self.assertEqual(self.hget("lease:" + first.ip, "mac"), self.cli.mac)
        self.assertEqual(self.hget("mac:" + other.mac, "ip"), second.ip)

    def test_reboot_and_renewal_get_ack_for_the_same_address(self):
        lease = clients.run_dhclient(self.cli, configure=True)
        self.assertTrue(lease.ok, lease.log)
        expires = int(self.hget("lease:" + lease.ip, "expires"))
        again = clients.dhclient_renew(self.cli, lease)
        self.assertEqual((again.reason, again.ip), ("REBOOT", lease.ip))
        time.sleep(1.1)
        # RENEWING: unicast from the leased address, ciaddr set
        replies = RawClient(self.cli).request(ciaddr=lease.ip, dest="192.0.2.1")
        self.assertEqual([(r.msg_type, r.yiaddr) for r in replies], [(5, lease.ip)])
        self.assertGreater(int(self.hget("lease:" + lease.ip, "expires")), expires)

    def test_release_frees_the_address_in_redis(self):
        lease = clients.run_dhclient(self.cli)
        self.assertTrue(lease.ok, lease.log)
        self.assertEqual(self.hget("lease:" + lease.ip, "state"), "bound")
        clients.dhclient_release(self.cli, lease)
        self.server.wait_for("RELEASE from %s" % self.cli.mac)
        self.assertEqual(self.redis.cli("EXISTS", "lease:" + lease.ip).strip(), "0")
        self.assertEqual(self.redis.cli("HEXISTS", "mac:" + self.cli.mac, "ip").strip(), "0")

    def test_init_reboot_for_a_foreign_address_gets_nak(self):
        lease_file = os.path.join(self.lan.mkdtemp("lease"), "dhclient.leases")
        clients.write_dhclient_lease(lease_file, self.cli.iface, "198.51.100.7",
                                     server_id="192.0.2.1")
        lease = clients.run_dhclient(self.cli, lease_file=lease_file)
        self.assertIn("DHCPNAK from 192.0.2.1", lease.log)
        self.assertIn("REQUEST from %s xid=" % self.cli.mac, self.server.log())
        self.assertIn("-> nak 198.51.100.7", self.server.log())
        self.assertTrue(lease.ok and in_pool(lease.ip), lease.log)  # then it starts over

    def test_inform_gets_ack_without_address_or_lease_time(self):
        self.cli.add_address("192.0.2.60/24")
        replies = RawClient(self.cli).inform("192.0.2.60")
        self.assertEqual(len(replies), 1)
        ack = replies[0]
        self.assertEqual((ack.msg_type, ack.yiaddr, ack.ciaddr), (5, "0.0.0.0", "192.0.2.60"))
        self.assertIsNone(ack.lease_time)
        self.assertEqual(ack.dns, ["192.0.2.53", "192.0.2.54"])
        informed = clients.run_dhcpcd(self.lan.add_host("cli2"), inform="192.0.2.61/24")
        self.assertEqual(informed.reason, "INFORM", informed.log)

    def test_decline_quarantines_the_address_and_the_client_gets_another(self):
        raw = RawClient(self.cli)
        offer = raw.discover(max_replies=1)[0]
        ack = raw.request(offer.yiaddr, "192.0.2.1", max_replies=1)[0]
        self.assertEqual(ack.msg_type, 5)
        raw.decline(ack.yiaddr, "192.0.2.1")
        self.server.wait_for("DECLINE from %s" % self.cli.mac)
        self.assertEqual(self.hget("lease:" + ack.yiaddr, "state"), "declined")
        again = raw.discover(max_replies=1)[0]
        self.assertNotEqual(again.yiaddr, ack.yiaddr)

    def test_fifty_clients_at_once_get_fifty_distinct_addresses(self):
        results = RawClient(self.cli).many_clients(50, timeout=60)
        self.assertEqual([r.state for r in results], ["bound"] * 50)
        addresses = {r.acked_ip for r in results}
        self.assertEqual(len(addresses), 50)
        self.assertTrue(all(in_pool(ip) for ip in addresses))

    def test_malformed_packets_are_dropped_and_the_next_client_is_served(self):
        good = build_packet(1, random_mac(), 7)
        malformed = [
            good[:200],                                   # truncated header
            b"\x02" + good[1:236] + bytes(4) + good[240:],  # a BOOTREPLY without the cookie
            good[:240] + b"\x35\x01\x01\x0c\x40abc",        # option 12 runs past the end
            good[:2] + b"\x11" + good[3:],                  # hlen 17
        ]
        self.assertEqual(RawClient(self.cli).send(malformed, wait=1.0), [])
        self.server.wait_for("malformed packet", timeout=5)
        self.assertEqual(self.server.log().count("dropped malformed packet"), 4)
        lease = clients.run_udhcpc(self.cli)
        self.assertTrue(lease.ok and self.server.alive(), lease.log)


class TwoServerTests(ServerTestCase):
    timeout = 180

    def test_two_servers_on_one_redis_never_hand_out_an_address_twice(self):
        self.redis.cli("HSET", "group:pool", "range", "192.0.2.10-192.0.2.250")
        other = self.lan.add_host("srv2", "192.0.2.2/24")
        self.start("--quiet")
        self.start("--quiet", host=other)
        results = RawClient(self.cli).many_clients(200, timeout=120)
        bound = [r for r in results if r.ok]
        self.assertEqual(len(bound), 200, [r.state for r in results if not r.ok][:5])
        self.assertEqual(len({r.acked_ip for r in bound}), 200)
        servers = {r.ack_server_id for r in bound}
        self.assertEqual(servers, {"192.0.2.1", "192.0.2.2"})
        # and in Redis: one bound lease per client, each naming that client
        for r in bound:
            self.assertEqual(self.hget("lease:" + r.acked_ip, "mac"), r.chaddr)
            self.assertEqual(self.hget("mac:" + r.chaddr, "ip"), r.acked_ip)


class RedisOutageTests(ServerTestCase):
    def test_starts_without_redis_and_serves_once_it_comes_up(self):
        sock = os.path.join(self.lan.mkdtemp("late-redis"), "redis.sock")
        server = self.start("--redis-timeout", "0.5s", "--redis", "unix://" + sock)
        self.assertFalse(clients.run_udhcpc(self.cli, timeout=4).ok)
        self.assertTrue(server.alive())
        redis = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", sock,
                                  "--save", "", "--appendonly", "no"],
                                 stdout=subprocess.DEVNULL)
        self.addCleanup(lambda: (redis.kill(), redis.wait()))
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        subprocess.run(["redis-cli", "-s", sock, "HSET", "group:default", "gateway",
                        "192.0.2.1", "prefix", "24", "range", "192.0.2.100-192.0.2.110"],
                       check=True, stdout=subprocess.DEVNULL)
        server.wait_for("store reachable", timeout=10)
        lease = clients.run_udhcpc(self.cli)
        self.assertTrue(lease.ok, lease.log)
        self.assertEqual(server.log().count("store unreachable"), 1)


class WorkerTests(ServerTestCase):
    def test_with_two_workers_each_local_client_is_answered_once(self):
        """Broadcasts reach every socket of an SO_REUSEPORT group; only the first process
        serves the local link (relayed traffic is spread by chaddr: tests/test_interface.py,
        and `make bench --workers`)."""
        server = self.start("--workers", "2")
        server.wait_for("[worker-1]", timeout=20)
        server.wait_for("worker-1] ", timeout=20)
        time.sleep(1)
        results = RawClient(self.cli).many_clients(40, timeout=60)
        self.assertEqual([r.state for r in results], ["bound"] * 40)
        self.assertEqual(len({r.acked_ip for r in results}), 40)
        acks = [line for line in server.log().splitlines() if "-> ack" in line]
        self.assertEqual(len(acks), 40)
        self.assertFalse([line for line in acks if "worker-1" in line])
        self.assertEqual(sum(len(r.acks) for r in results), 40)  # no duplicate answers
