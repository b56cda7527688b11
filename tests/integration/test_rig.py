"""Self-tests of the integration rig, using busybox udhcpd as the server.

These prove that namespaces, the real clients, the raw client and the
private Redis work, without involving apidhcpd at all.
"""

import ipaddress
import os
import signal
import subprocess
import time

from twisted.trial import unittest

from tests.integration import rawclient as raw
from tests.integration.clients import (
    dhclient_release,
    dhclient_renew,
    run_dhclient,
    run_dhcpcd,
    run_udhcpc,
    start_udhcpd,
    write_dhclient_lease,
)
from tests.integration.netns import (
    Lan,
    make_lan,
    missing_tools,
    our_namespaces,
    require_root_and_tools,
)
from tests.redisserver import RedisServer, RedisTestMixin, free_port, shared_redis

POOL = ipaddress.ip_network("192.0.2.0/24")
POOL_START, POOL_END = "192.0.2.100", "192.0.2.199"


def in_pool(ip, start=POOL_START, end=POOL_END):
    a = ipaddress.ip_address(ip)
    return ipaddress.ip_address(start) <= a <= ipaddress.ip_address(end)


class UdhcpdLanMixin:
    """A Lan with udhcpd on ``srv`` (192.0.2.1) and an empty ``cli`` host."""

    tools = ("busybox",)

    def setUp(self):
        require_root_and_tools(self, *self.tools)
        self.lan = make_lan(self)
        self.srv = self.lan.add_host("srv", "192.0.2.1/24")
        self.udhcpd = start_udhcpd(self.srv, POOL_START, POOL_END,
                                   extra=["opt hostname rigclient"])
        self.cli = self.lan.add_host("cli")

    def assertLease(self, lease, hostname=True):
        """The lease carries everything udhcpd is configured to hand out."""
        self.assertTrue(lease.ok, "%s got no lease:\n%s\nevents=%s" % (
            lease.client, lease.log, lease.reasons))
        self.assertTrue(in_pool(lease.ip), lease.ip)
        self.assertEqual(lease.netmask, "255.255.255.0")
        self.assertEqual(lease.prefix, 24)
        self.assertEqual(lease.routers, ["192.0.2.1"])
        self.assertEqual(lease.dns, ["192.0.2.53", "192.0.2.54"])
        self.assertEqual(lease.domain, "example.test")
        self.assertEqual(lease.lease_time, 600)
        self.assertEqual(lease.server_id, "192.0.2.1")
        if hostname:
            self.assertEqual(lease.hostname, "rigclient")

    def assertNothingLeft(self, host):
        """The client left no process behind in its namespace."""
        deadline = time.monotonic() + 3
        while host.pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(host.pids(), [])

    def serverLeases(self):
        """udhcpd's lease file (it is written on SIGUSR1)."""
        self.udhcpd.proc.send_signal(signal.SIGUSR1)
        time.sleep(0.3)
        with open(self.udhcpd.lease_file, "rb") as f:
            return f.read()


class DhclientTests(UdhcpdLanMixin, unittest.TestCase):
    tools = ("busybox", "dhclient")

    def test_dora(self):
        lease = run_dhclient(self.cli, hostname="dhcl-host")
        self.assertLease(lease)
        self.assertEqual(lease.reason, "BOUND")
        self.assertIn("fixed-address %s;" % lease.ip, lease.lease_text)
        self.assertEqual(self.cli.addresses(), [])  # configure=False
        self.assertNothingLeft(self.cli)
        self.assertIn(b"dhcl-host", self.serverLeases())

    def test_reboot_and_release(self):
        first = run_dhclient(self.cli)
        again = dhclient_renew(self.cli, first)
        self.assertLease(again)
        self.assertEqual(again.reason, "REBOOT")
        self.assertEqual(again.ip, first.ip)
        self.assertIn("DHCPREQUEST for %s" % first.ip, again.log)
        self.assertNotIn("DHCPDISCOVER", again.log)
        rel = dhclient_release(self.cli, again)
        self.assertTrue(rel.ok, rel.log)
        self.assertIn("DHCPRELEASE of %s" % first.ip, rel.log)
        self.assertEqual(self.cli.addresses(), [])
        self.assertNothingLeft(self.cli)

    def test_written_lease_file_init_reboot(self):
        path = os.path.join(self.lan.mkdtemp("lf"), "dhclient.leases")
        write_dhclient_lease(path, self.cli.iface, "192.0.2.150", "192.0.2.1")
        lease = run_dhclient(self.cli, lease_file=path)
        self.assertIn("DHCPREQUEST for 192.0.2.150", lease.log)
        self.assertLease(lease)  # udhcpd NAKs or ignores it; DORA follows

    def test_configure(self):
        lease = run_dhclient(self.cli, configure=True)
        self.assertEqual(self.cli.addresses(), ["%s/24" % lease.ip])


class UdhcpcTests(UdhcpdLanMixin, unittest.TestCase):

    def test_dora(self):
        lease = run_udhcpc(self.cli, hostname="udc-host",
                           client_id="ff00112233")
        self.assertLease(lease)
        self.assertEqual(lease.reasons, ["deconfig", "bound"])
        self.assertNothingLeft(self.cli)
        self.assertIn(b"udc-host", self.serverLeases())

    def test_release(self):
        lease = run_udhcpc(self.cli, release=True)
        self.assertLease(lease)
        self.assertIn("released", lease.log)

    def test_macvlan_clients(self):
        ifaces = self.cli.add_macvlan(3)
        leases = [run_udhcpc(self.cli, iface=name) for name, _mac in ifaces]
        for lease in leases:
            self.assertLease(lease)
        self.assertEqual(len({lease.ip for lease in leases}), 3)

    def test_no_server(self):
        self.udhcpd.stop()
        lease = run_udhcpc(self.cli, timeout=2)
        self.assertFalse(lease.ok)
        self.assertIn("leasefail", lease.reasons)
        self.assertNothingLeft(self.cli)


class DhcpcdTests(UdhcpdLanMixin, unittest.TestCase):
    tools = ("busybox", "dhcpcd")

    def test_dora(self):
        lease = run_dhcpcd(self.cli, hostname="dcd-host")
        self.assertLease(lease)
        self.assertEqual(lease.reason, "BOUND")
        # dhcpcd configures the namespace itself (never the root one).
        self.assertEqual(self.cli.addresses(), ["%s/24" % lease.ip])
        self.assertNothingLeft(self.cli)
        self.assertIn(b"dcd-host", self.serverLeases())

    def test_test_mode(self):
        lease = run_dhcpcd(self.cli, test=True)
        self.assertLease(lease)
        self.assertEqual(lease.reason, "TEST")
        self.assertEqual(self.cli.addresses(), [])
        self.assertNothingLeft(self.cli)

    def test_inform(self):
        lease = run_dhcpcd(self.cli, inform="192.0.2.77/24")
        self.assertTrue(lease.ok, lease.log)
        self.assertEqual(lease.reason, "INFORM")
        self.assertEqual(lease.routers, ["192.0.2.1"])
        self.assertEqual(lease.dns, ["192.0.2.53", "192.0.2.54"])
        self.assertEqual(lease.server_id, "192.0.2.1")
        self.assertNothingLeft(self.cli)


class RawClientTests(UdhcpdLanMixin, unittest.TestCase):

    def test_many_clients(self):
        results = raw.RawClient(self.cli).many_clients(20, timeout=30)
        self.assertEqual(len(results), 20)
        self.assertTrue(all(r.ok for r in results),
                        [r for r in results if not r.ok])
        ips = {r.acked_ip for r in results}
        self.assertEqual(len(ips), 20)
        self.assertTrue(all(in_pool(ip) for ip in ips))
        self.assertEqual({r.ack_server_id for r in results}, {"192.0.2.1"})
        self.assertEqual(len({r.chaddr for r in results}), 20)

    def test_two_servers(self):
        other = self.lan.add_host("srv2", "192.0.2.2/24")
        start_udhcpd(other, "192.0.2.200", "192.0.2.249", router="192.0.2.2")
        results = raw.RawClient(self.cli).many_clients(20, timeout=30)
        self.assertTrue(all(r.ok for r in results))
        self.assertEqual(len({r.acked_ip for r in results}), 20)
        for r in results:
            self.assertEqual(r.ack_server_id, r.offer_server_id)
            self.assertEqual(r.acked_ip, r.offered_ip)
        # Both servers offer to everyone (reply order decides the winner).
        self.assertTrue(any(len({s for s, _ in r.offers}) == 2
                            for r in results))

    def test_single_exchanges(self):
        rc = raw.RawClient(self.cli)
        chaddr = "02:ad:00:00:00:01"
        offers = rc.discover(chaddr=chaddr, hostname="raw1", max_replies=1)
        self.assertEqual([p.msg_name for p in offers], ["OFFER"])
        offer = offers[0]
        self.assertEqual((offer.op, offer.chaddr, offer.flags), (2, chaddr, 0x8000))
        self.assertEqual(offer.server_id, "192.0.2.1")
        self.assertEqual(offer.lease_time, 600)
        acks = rc.request(offer.yiaddr, offer.server_id, chaddr=chaddr,
                          max_replies=1)
        self.assertEqual([(p.msg_name, p.yiaddr) for p in acks],
                         [("ACK", offer.yiaddr)])
        self.assertEqual(rc.release(offer.yiaddr, "192.0.2.1", chaddr=chaddr),
                         [])
        self.assertEqual(rc.decline(offer.yiaddr, "192.0.2.1", chaddr=chaddr),
                         [])
        # INFORM from an address the host owns; the ACK is unicast to it.
        self.cli.add_address("192.0.2.78/24")
        acks = rc.inform("192.0.2.78", chaddr=chaddr, max_replies=1)
        self.assertEqual([p.msg_name for p in acks], ["ACK"])
        self.assertEqual(acks[0].dns, ["192.0.2.53", "192.0.2.54"])

    def test_malformed(self):
        rc = raw.RawClient(self.cli)
        good = raw.build_packet(raw.DISCOVER, "02:ad:00:00:00:02", 7,
                                raw.client_options())
        junk = [b"", b"\x01", b"\x00" * 300, good[:240],
                good[:236] + b"XXXX" + good[240:],       # bad magic
                good[:240] + b"\x35\x05\x01",            # truncated option
                good[:240] + b"\x35\x01\x63\xff",        # unknown type 99
                os.urandom(600)]
        replies = rc.send(junk, wait=0.5)  # udhcpd is lenient: may OFFER
        self.assertTrue(all(r.packet.msg_name == "OFFER" for r in replies))
        self.assertIsNone(self.udhcpd.proc.poll())
        offers = rc.discover(chaddr="02:ad:00:00:00:02", max_replies=1)
        self.assertEqual([p.msg_name for p in offers], ["OFFER"])


class CodecTests(unittest.TestCase):
    """The raw codec alone (no root needed)."""

    def test_roundtrip(self):
        opts = raw.client_options(hostname="h", client_id="01:02:03:04",
                                  requested_ip="192.0.2.5",
                                  server_id="192.0.2.1",
                                  extra=[(43, b"x" * 300)])
        data = raw.build_packet(raw.REQUEST, "02:ad:01:02:03:04", 0x1234,
                                opts, ciaddr="192.0.2.9")
        p = raw.parse_packet(data)
        self.assertEqual((p.op, p.xid, p.flags, p.msg_name),
                         (1, 0x1234, 0x8000, "REQUEST"))
        self.assertEqual((p.chaddr, p.ciaddr), ("02:ad:01:02:03:04", "192.0.2.9"))
        self.assertEqual((p.requested_ip, p.server_id, p.hostname),
                         ("192.0.2.5", "192.0.2.1", "h"))
        self.assertEqual(p.options[61], b"\x01\x02\x03\x04")
        self.assertEqual(p.options[43], b"x" * 300)  # split + concatenated

    def test_overload_and_errors(self):
        opts = [(raw.OPT_OVERLOAD, b"\x01")]
        data = raw.build_packet(raw.ACK, "02:ad:00:00:00:03", 1, opts,
                                file=b"\x0f\x04test\xff", op=2)
        self.assertEqual(raw.parse_packet(data).domain, "test")
        self.assertRaises(ValueError, raw.parse_packet, data[:100])
        self.assertRaises(ValueError, raw.parse_packet, data[:240] + b"\x03\x08")

    def test_chaddrs(self):
        macs = raw.make_chaddrs(300)
        self.assertEqual(len(set(macs)), 300)
        self.assertTrue(all(raw.mac_bytes(m)[0] == 2 for m in macs))


class LanTests(unittest.TestCase):

    def setUp(self):
        require_root_and_tools(self)

    def test_teardown_leaves_nothing(self):
        lan = Lan()
        self.addCleanup(lan.teardown)
        a = lan.add_host("a", "198.51.100.1/24")
        b = lan.add_host("b", "198.51.100.2/24", mac="02:ad:be:ef:00:01")
        self.assertEqual(b.mac, "02:ad:be:ef:00:01")
        self.assertIn("02:ad:be:ef:00:01", b.run(["ip", "link"]).stdout)
        b.run(["busybox", "ping", "-c", "1", "-W", "2", a.ip])
        sleeper = a.spawn(["sleep", "300"])
        # A daemon that escapes its parent is found via the namespace.
        a.run(["sh", "-c", "sleep 301 >/dev/null 2>&1 &"])
        self.assertEqual(len(a.pids()), 2)
        names = set(lan.namespaces)
        self.assertTrue(names <= set(our_namespaces()))
        workdir = lan.workdir
        lan.teardown()
        lan.teardown()  # idempotent
        self.assertEqual(names & set(our_namespaces()), set())
        self.assertIsNotNone(sleeper.poll())
        self.assertFalse(os.path.exists(workdir))

    def test_no_root_namespace_changes(self):
        before = subprocess.run(["ip", "-o", "addr"], capture_output=True,
                                text=True).stdout
        lan = make_lan(self)
        lan.add_host("x", "203.0.113.7/24").add_macvlan(2)
        after = subprocess.run(["ip", "-o", "addr"], capture_output=True,
                               text=True).stdout
        self.assertEqual(before, after)

    def test_refuses_other_ranges(self):
        lan = make_lan(self)
        self.assertRaises(ValueError, lan.add_host, "bad", "10.0.0.1/24")


class RedisServerTests(unittest.TestCase):

    def setUp(self):
        if missing_tools("redis-server", "redis-cli"):
            raise unittest.SkipTest("redis-server/redis-cli not installed")

    def test_start_cli_stop(self):
        with RedisServer() as r:
            self.assertNotEqual(r.port, 6379)
            self.assertEqual(r.url, "redis://127.0.0.1:%d/0" % r.port)
            self.assertEqual(r.unix_url, "unix://%s?db=0" % r.unix_path)
            self.assertTrue(os.path.exists(r.unix_path))
            self.assertEqual(r.cli("SET", "k", "v").strip(), "OK")
            self.assertEqual(r.cli("GET", "k").strip(), "v")
            tcp = subprocess.run(["redis-cli", "-p", str(r.port), "GET", "k"],
                                 capture_output=True, text=True, timeout=10)
            self.assertEqual(tcp.stdout.strip(), "v")
            r.flushall()
            self.assertEqual(r.cli("DBSIZE").strip(), "0")
            pid, d = r.pid, r.dir
        self.assertFalse(os.path.exists(d))
        self.assertFalse(os.path.exists("/proc/%d" % pid))

    def test_shared(self):
        self.assertIs(shared_redis(type(self)), shared_redis(type(self)))
        self.assertNotEqual(free_port(), 6379)


class RedisMixinTests(RedisTestMixin, unittest.TestCase):
    """One server for the class, empty at the start of every test."""

    def check(self):
        self.assertEqual(self.redis.cli("DBSIZE").strip(), "0")
        self.assertIs(self.redis, shared_redis(type(self)))
        self.redis.cli("SET", "left", "over")

    test_first = test_second = check
