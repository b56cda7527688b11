"""apidhcpd-cli against a private redis-server: the seed's `dhcp-cli` output, imports of the
seed's redis-cli scripts and of ISC dhcpd.conf host blocks, the write commands and their
validation. Some tests run the CLI as a real subprocess, the rest call cli.run() in-process."""

import argparse
import calendar
import io
import json
import os
import re
import shlex
import subprocess
import sys
import time

from twisted.internet import defer, reactor
from twisted.trial import unittest

from apidhcpd.cli import edit, importers, show
from apidhcpd.cli import main as cli
from apidhcpd.dhcp4 import explain as explanation
from apidhcpd.store.contract import AddressSource
from apidhcpd.store.memory import MemoryStore
from apidhcpd.store.pools import pool_usage
from tests.redisserver import RedisTestMixin, free_port, shared_redis
from tests.stores import connected_store
from tests.test_seed_data import SEED, seed_commands

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures_cli")
DHCPD_CONF = os.path.join(FIXTURES, "dhcpd.conf")
A = "02:00:00:00:00:0a"


def seed_text():
    with open(SEED) as f:
        return f.read()


def seed_block(title):
    """The lines of the seed's example output under `title` (up to the closing fence)."""
    return re.search(re.escape(title) + r"\n(.*?)```", seed_text(), re.S).group(0)[:-3]


def seed_script():
    """The seed's redis-cli blocks, and its `show groups` output as hset lines, as one script."""
    return "".join("redis-cli %s\n" % shlex.join(command) for command in seed_commands())


def seed_mac_rows():
    """(mac, ip, ts or None, description, group or None) of each `show mac` example line."""
    rows = []
    for line in seed_block("DHCP by Ethernet address:").splitlines()[2:]:
        m = re.match(r"  mac:(\S+)  (\S+) +(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)?\s+(.*?)"
                     r"(?:  \(group:(\S+)\))?$", line)
        ts = m.group(3) and calendar.timegm(time.strptime(m.group(3), "%Y-%m-%d %H:%M:%S"))
        rows.append((m.group(1), m.group(2), ts, m.group(4), m.group(5)))
    return rows


class CLITestCase(unittest.TestCase):
    def setUp(self):
        self.redis = shared_redis("cli")
        self.redis.flushall()
        old_tz = os.environ.get("TZ")
        os.environ["TZ"] = "UTC"
        time.tzset()
        self.addCleanup(self._restore_tz, old_tz)

    @staticmethod
    def _restore_tz(old):
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()

    @defer.inlineCallbacks
    def run_cli(self, *argv, stdin=""):
        """cli.run() in this process: (exit status, stdout, stderr)."""
        out, err = io.StringIO(), io.StringIO()
        code = yield cli.run(["--redis", self.redis.url] + list(argv), reactor, out, err,
                             io.StringIO(stdin))
        return code, out.getvalue(), err.getvalue()

    def subprocess_cli(self, *argv, stdin=None):
        """`python -m apidhcpd.cli` as a real process, TZ=UTC, APIDHCPD_REDIS set."""
        env = dict(os.environ, TZ="UTC", APIDHCPD_REDIS=self.redis.url)
        done = subprocess.run([sys.executable, "-m", "apidhcpd.cli"] + list(argv), cwd=ROOT,
                              env=env, input=stdin, capture_output=True, text=True, timeout=60)
        return done.returncode, done.stdout, done.stderr

    def hset(self, key, **fields):
        args = [x for k, v in fields.items() for x in (k.replace("_", "-"), v)]
        self.redis.cli("HSET", key, *args)

    def hgetall(self, key, db=0):
        flat = json.loads(self.redis.cli("-n", db, "-2", "--json", "HGETALL", key))
        return dict(zip(flat[::2], flat[1::2]))

    def keys(self, db=0):
        return sorted(self.redis.cli("-n", db, "KEYS", "*").split())

    def load_seed(self, db=0):
        for command in seed_commands():
            self.redis.cli("-n", db, *command)

    def assertFails(self, result, *fragments, code=1):
        status, out, err = result
        self.assertEqual(status, code, (out, err))
        for fragment in fragments:
            self.assertIn(fragment, err)
        return err


class SeedFormatTests(CLITestCase):
    """The seed's `dhcp-cli show groups` and `show mac`, line for line."""

    def test_show_groups_prints_the_seeds_blocks(self):
        self.load_seed()
        code, out, err = self.subprocess_cli("show", "groups")
        self.assertEqual((code, err), (0, ""))
        expected = seed_block("DHCP groups:")
        self.assertEqual(out.splitlines()[:2], ["DHCP groups:", ""])
        blocks = out.rstrip("\n").split("\n\n")
        self.assertEqual(sorted(blocks[1:]), sorted(expected.rstrip("\n").split("\n\n")[1:]))
        self.assertEqual(blocks[0], "DHCP groups:")

    def test_show_mac_reproduces_the_seeds_example_line_for_line(self):
        for mac, ip, ts, description, group in seed_mac_rows():
            fields = {"ip": ip, "description": description}
            fields.update({"ts": str(ts)} if ts else {})
            fields.update({"group": group} if group else {})
            self.hset("mac:" + mac, **fields)
        code, out, err = self.subprocess_cli("show", "mac")
        self.assertEqual((code, err), (0, ""))
        expected = seed_block("DHCP by Ethernet address:").rstrip("\n").splitlines()
        lines = out.rstrip("\n").splitlines()
        self.assertEqual(lines[:2], expected[:2])
        self.assertEqual(sorted(lines[2:]), sorted(expected[2:]))
        self.assertEqual(len(lines), 15)

    # every row kind of `show mac`: reserved or dynamic, with and without ts, description
    # and group (a bare name and one written with its group: prefix), an odd ts, no address
    ROWS = (
        ("mac:02:00:00:00:01:01", {"ip": "172.17.3.130", "ts": "1575812647",
                                   "description": "Kubernetes Node 4", "group": "getflix"}),
        ("mac:02:00:00:00:01:02", {"ip": "172.17.3.131", "description": "no ts"}),
        ("mac:02:00:00:00:01:03", {"ip": "172.17.3.132", "group": "getflix"}),
        ("mac:02:00:00:00:01:04", {"ip": "172.17.3.133", "group": "group:getflix",
                                   "ts": "1575812700"}),
        ("mac:02:00:00:00:01:05", {"ip": "172.17.9.1", "dynamic": "1", "ts": "1575812647",
                                   "description": "dynamic:anna-pc"}),
        ("mac:02:00:00:00:01:06", {"ip": "172.17.9.2", "dynamic": "1", "ts": "1575812648"}),
        ("mac:02:00:00:00:01:07", {"ip": "172.17.9.3", "dynamic": "true"}),
        ("mac:02:00:00:00:01:08", {"ts": "1575812649", "description": "dynamic:gone"}),
        ("mac:02:00:00:00:01:09", {"ip": "172.17.3.134", "ts": "1.5e9"}),
        ("mac:02:00:00:00:01:0a", {"ip": "172.17.3.135"}),
    )

    @staticmethod
    def seed_show_mac(rows):
        """What the seed's dhcpShowHWAddresses prints for these hashes, in this order: its
        Printf calls one by one (cmd/dhcp-cli/main.go), with Go's "" for a missing field."""
        out = "DHCP by Ethernet address:\n\n"
        for key, d in rows:
            out += "  %s  %-16s" % (key, d.get("ip", ""))
            out += "* " if d.get("dynamic", "") == "1" else "  "
            if d.get("ts", "") != "":
                try:
                    i = int(d["ts"])
                except ValueError:
                    i = 0
                out += "  %s" % time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(i))
            else:
                out += " " * 21
            if d.get("description", "") != "":
                out += "  %s" % d["description"]
            if d.get("group", "") != "":
                out += "  (group:%s)" % d["group"]
            out += "\n"
        return out

    @defer.inlineCallbacks
    def test_show_mac_prints_every_row_kind_as_the_seed_does(self):
        for key, fields in self.ROWS:
            self.hset(key, **fields)
        code, out, err = yield self.run_cli("show", "mac")
        self.assertEqual((code, err), (0, ""))
        ordered = sorted(self.ROWS, key=lambda row: (
            (0, tuple(int(x) for x in row[1]["ip"].split("."))) if "ip" in row[1] else (1,),
            row[0]))
        self.assertEqual(out, self.seed_show_mac(ordered))
        self.assertIn("  mac:02:00:00:00:01:05  172.17.9.1      *   2019-12-08 13:44:07  "
                      "dynamic:anna-pc\n", out)
        # after a 12-character address: 4 blanks of padding, 2 for no `*`, 21 for no ts
        self.assertIn("  mac:02:00:00:00:01:03  172.17.3.132" + " " * 27 + "  (group:getflix)\n",
                      out)
        self.assertIn("  mac:02:00:00:00:01:0a  172.17.3.135" + " " * 27 + "\n", out)

    @defer.inlineCallbacks
    def test_show_clients_and_groups_print_the_seeds_blocks(self):
        self.hset("client:01020000000a0a", ip="172.17.3.9", description="by option 61",
                  ts="1575812647")
        self.hset("client:kitchen-hub", ip="172.17.3.10", group="getflix")
        self.hset("group:default", gateway="172.17.2.254", prefix="16")
        self.hset("group:getflix", dns="82.103.129.240")
        code, out, _ = yield self.run_cli("show", "clients")
        self.assertEqual(code, 0)
        self.assertEqual(out, "DHCP Clients:\n\n"
                              "client:01020000000a0a\n  ip = 172.17.3.9\n"
                              "  description = by option 61\n  ts = 1575812647\n"
                              "client:kitchen-hub\n  ip = 172.17.3.10\n  group = getflix\n")
        code, out, _ = yield self.run_cli("show", "groups")
        self.assertEqual(out, "DHCP groups:\n\n"
                              "group:default\n  gateway = 172.17.2.254\n  prefix = 16\n\n"
                              "group:getflix\n  dns = 82.103.129.240\n\n")

    @defer.inlineCallbacks
    def test_every_show_command_has_json_output(self):
        self.load_seed()
        self.hset("mac:" + A, ip="172.17.9.1", dynamic="1", ts="1575812647")
        self.hset("pool", **{"172.17.9.1": A, "172.17.9.2": ""})
        self.hset("lease:172.17.9.1", mac=A, state="bound", expires="4102444800")
        self.redis.cli("ZADD", "leases", "4102444800", "172.17.9.1")
        for what in ("groups", "mac", "clients", "leases", "pools"):
            code, out, err = yield self.run_cli("--json", "show", what)
            self.assertEqual((code, err), (0, ""), what)
            json.loads(out)
        code, out, _ = yield self.run_cli("show", "mac", "--json")
        entry = next(e for e in json.loads(out) if e["key"] == "mac:" + A)
        self.assertEqual((entry["ip"], entry["dynamic"], entry["ts"]),
                         ("172.17.9.1", True, 1575812647))
        code, out, _ = yield self.run_cli("--json", "show", "groups")
        self.assertEqual(json.loads(out)["group:getflix"]["dns"], "82.103.129.240,46.246.29.68")
        code, out, _ = yield self.run_cli("--json", "show", "leases")
        self.assertEqual(json.loads(out), [{"family": 4, "ip": "172.17.9.1", "mac": A,
                                            "state": "bound", "expires": 4102444800,
                                            "relay": ""}])
        code, out, _ = yield self.run_cli("--json", "show", "pools")
        self.assertEqual(json.loads(out), [{"name": "pool", "size": 2, "leased": 1,
                                            "offered": 0, "declined": 0, "reserved": 0,
                                            "free": 1, "utilisation": 50.0}])


class NetworkWarningTests(CLITestCase):
    @defer.inlineCallbacks
    def test_a_subnet_write_warns_about_a_group_gateway_off_its_network(self):
        self.hset("group:default", gateway="192.0.2.254", prefix="24")
        code, _, err = yield self.run_cli("set", "subnet", "198.51.100.0/24",
                                            "gateway=198.51.100.1")
        self.assertEqual(code, 0)
        self.assertTrue(err.startswith("apidhcpd-cli: warning: group:default: gateway "
                                       "192.0.2.254 is not on 198.51.100.0/24"), err)
        code, _, err = yield self.run_cli("set", "group", "default", "gateway=198.51.100.1")
        self.assertEqual((code, err), (0, ""))


class ImportTests(CLITestCase):
    def test_seed_script_gives_what_redis_cli_gives(self):
        path = os.path.abspath(self.mktemp())
        with open(path, "w") as f:
            f.write("# the seed's blocks\n\n" + seed_script())
        code, out, err = self.subprocess_cli("import", path)
        self.assertEqual((code, out, err), (0, "imported 3 hosts, 3 groups, skipped 0 lines\n",
                                            ""))
        self.load_seed(db=1)  # the same script through redis-cli itself
        inventory = list(self.keys(1))
        self.assertEqual([k for k in self.keys() if not k.startswith("reserved")], inventory)
        for key in inventory:
            self.assertEqual(self.hgetall(key), self.hgetall(key, db=1), key)
        # written through IAdmin.put: the reserved index knows the addresses
        self.assertEqual(sorted(self.redis.cli("SMEMBERS", "reserved").split()),
                         ["172.17.3.130", "172.17.4.19", "172.17.7.5"])

    @defer.inlineCallbacks
    def test_seed_script_quoting_comments_and_skipped_lines(self):
        with open(os.path.join(FIXTURES, "inventory.sh")) as f:
            script = f.read()
        code, out, err = yield self.run_cli("import", "-", stdin=script)
        self.assertEqual(code, 0, err)
        self.assertEqual(out, "imported 3 hosts, 1 groups, skipped 2 lines\n")
        self.assertEqual(err, "line 25: skipped: redis-cli keys '*'\n"
                              "line 26: skipped: echo done\n")
        self.assertEqual(self.hgetall("group:lab")["dns"], "192.0.2.53,192.0.2.54")
        self.assertEqual(self.hgetall("mac:02:00:00:00:02:01"), {
            "description": "Anna's PC (lab)", "hostname": "anna-pc", "ip": "192.0.2.31",
            "group": "lab"})
        self.assertEqual(self.hgetall("mac:02:00:00:00:02:0a"), {
            "description": 'Lab "switch"', "ip": "192.0.2.32", "group": "group:lab"})
        self.assertEqual(self.hgetall("client:lab-printer")["ip"], "192.0.2.33")

    @defer.inlineCallbacks
    def test_seed_script_merges_without_del_and_replaces_with_del(self):
        self.hset("mac:" + A, ip="172.17.3.50", ts="1575812647", hostname="old")
        self.hset("mac:02:00:00:00:00:0b", ip="172.17.3.51", ts="1575812647", hostname="old")
        script = ("redis-cli hset mac:%s description 'merged'\n"
                  "redis-cli del mac:02:00:00:00:00:0b\n"
                  "redis-cli hset mac:02:00:00:00:00:0b ip 172.17.3.52\n" % A)
        code, _, err = yield self.run_cli("import", "-", stdin=script)
        self.assertEqual(code, 0, err)
        self.assertEqual(self.hgetall("mac:" + A), {"ip": "172.17.3.50", "ts": "1575812647",
                                                    "hostname": "old", "description": "merged"})
        self.assertEqual(self.hgetall("mac:02:00:00:00:00:0b"), {"ip": "172.17.3.52"})
        self.assertEqual(sorted(self.redis.cli("SMEMBERS", "reserved").split()),
                         ["172.17.3.50", "172.17.3.52"])

    @defer.inlineCallbacks
    def test_a_bad_value_anywhere_rejects_the_whole_script(self):
        script = seed_script() + "redis-cli hset mac:%s dns 10.10.10\n" % A
        code, out, err = yield self.run_cli("import", "-", stdin=script)
        self.assertFails((code, out, err), "mac:%s: dns:" % A)
        self.assertEqual(self.keys(), [])
        for bad, message in [
                ("redis-cli hset mac:zz:00:00:00:00:01 ip 172.17.3.1", "bad MAC address"),
                ("redis-cli hset mac:%s ip 172.17.3.300" % A, "is not an IPv4 address"),
                ("redis-cli hset mac:%s ip 'unterminated" % A, "line 1: No closing quotation"),
                ("redis-cli hset mac:%s ip" % A, "hset needs field value pairs"),
                ("redis-cli hset mac:%s ip 172.17.3.1 group nosuch" % A,
                 "group:nosuch does not exist"),
                ("redis-cli hset lease:172.17.3.1 mac x", "not an inventory key")]:
            result = yield self.run_cli("import", "-", stdin=bad + "\n")
            self.assertFails(result, message)
        self.assertEqual(self.keys(), [])

    def test_dhcpd_conf_with_a_bad_address_writes_nothing(self):
        self.hset("group:default", gateway="192.0.2.254", prefix="24")
        before = {key: self.hgetall(key) for key in self.keys()}
        result = self.subprocess_cli("import", DHCPD_CONF)
        err = self.assertFails(result, "line 36: host broken-camera: bad fixed-address "
                                       "'192.0.2.300'")
        self.assertEqual(len(err.splitlines()), 1)
        self.assertEqual(result[1], "")
        self.assertEqual({key: self.hgetall(key) for key in self.keys()}, before)

    def corrected_dhcpd_conf(self):
        with open(DHCPD_CONF) as f:
            return f.read().replace("192.0.2.300", "192.0.2.23")

    def test_dhcpd_conf_host_blocks(self):
        self.hset("group:default", gateway="192.0.2.254", prefix="24")
        self.hset("group:lab", dns="192.0.2.53")
        self.hset("mac:02:00:00:00:01:03", description="Anna's laptop", ts="1575812647")
        code, out, err = self.subprocess_cli("import", "-", "--group", "lab",
                                             stdin=self.corrected_dhcpd_conf())
        self.assertEqual(code, 0, err)
        self.assertEqual(out, "imported 5 hosts, 0 groups, skipped 8 lines\n")
        self.assertIn("line 25: skipped in host media box: ddns-hostname media", err)
        self.assertIn("line 2: skipped: option domain-name example.test", err)
        self.assertEqual(self.hgetall("mac:00:1b:a9:0a:0b:0c"), {
            "ip": "192.0.2.20", "hostname": "printer-hall", "description": "printer",
            "group": "lab"})
        self.assertEqual(self.hgetall("mac:02:00:00:00:01:01"), {
            "ip": "192.0.2.21", "description": "nas-1", "group": "lab"})
        self.assertEqual(self.hgetall("mac:02:00:00:00:01:02")["description"], "media box")
        self.assertEqual(self.hgetall("mac:02:00:00:00:01:03"), {  # its description is kept
            "description": "Anna's laptop", "ts": "1575812647", "hostname": "laptop",
            "group": "lab"})
        self.assertIn("192.0.2.23", self.redis.cli("SMEMBERS", "reserved").split())

    @defer.inlineCallbacks
    def test_dhcpd_conf_errors(self):
        self.hset("group:default", gateway="192.0.2.254", prefix="24")
        good = self.corrected_dhcpd_conf()
        for text, message in [
                (good.replace("192.0.2.23", "198.51.100.1"),
                 "mac:02:00:00:00:01:04: ip 198.51.100.1 is outside 192.0.2.0/24"),
                (good.replace("192.0.2.23", "192.0.2.22"), "192.0.2.22 is already reserved"),
                (good.replace("02:00:00:00:01:04", "02:00:00:00:01:03"), "appears twice"),
                (good.replace("2:0:0:0:1:1", "2:0:0:0:1"), "bad MAC address '2:0:0:0:1'"),
                (good + "host x { fixed-address 192.0.2.40; }\n", "host x has no hardware"),
                (good + "host y {\n", "missing '}'"),
                (good + "}\n", "unexpected '}'"),
                (good.replace('"laptop"', '"laptop'), "unterminated string")]:
            result = yield self.run_cli("import", "-", stdin=text)
            self.assertFails(result, message)
        result = yield self.run_cli("import", "-", "--group", "nosuch", stdin=good)
        self.assertFails(result, "group:nosuch does not exist")
        self.assertEqual(self.keys(), ["group:default"])

    @defer.inlineCallbacks
    def test_dry_run_prints_the_changes_and_writes_nothing(self):
        code, out, err = yield self.run_cli("import", "--dry-run", "-", stdin=seed_script())
        self.assertEqual(code, 0, err)
        self.assertIn("replace mac:f4:f5:d8:a9:5a:b6 description='Google Chromecast Ultra' "
                      "hostname=chromecast-ultra ip=172.17.4.19 group=getflix\n", out)
        self.assertIn("merge group:default domain=ojala.cloud. lease-time=24h", out)
        self.assertTrue(out.endswith("dry run, nothing written: would import 3 hosts, "
                                     "3 groups, skipped 0 lines\n"))
        self.assertEqual(self.keys(), [])

    @defer.inlineCallbacks
    def test_format_detection_and_usage(self):
        result = yield self.run_cli("import", "-", stdin="nothing here\n")
        self.assertFails(result, "cannot tell the format")
        result = yield self.run_cli("import", "-", "--format", "seed", stdin="echo hi\n")
        self.assertFails(result, "nothing to import (1 lines skipped)")
        result = yield self.run_cli("import", "-", "--group", "lab", stdin=seed_script())
        self.assertFails(result, "--group applies to dhcpd input only", code=2)
        result = yield self.run_cli("import", self.mktemp())
        self.assertFails(result, "cannot read")


class WriteCommandTests(CLITestCase):
    def setUp(self):
        super().setUp()
        self.load_seed()

    def reserved(self):
        return sorted(self.redis.cli("SMEMBERS", "reserved").split())

    @defer.inlineCallbacks
    def test_set_host_merges_and_normalises_the_mac(self):
        self.hset("mac:" + A, ts="1575812647", hostname="box")
        code, out, err = yield self.run_cli("set", "host", "02-00-00-00-00-0A", "ip=172.17.3.60",
                                            "description=Test box", "group=getflix")
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(out.splitlines()[0], "mac:" + A)
        self.assertIn("  ip = 172.17.3.60", out.splitlines())
        self.assertEqual(self.hgetall("mac:" + A), {
            "ts": "1575812647", "hostname": "box", "ip": "172.17.3.60",
            "description": "Test box", "group": "getflix"})
        self.assertIn("172.17.3.60", self.reserved())
        code, out, err = yield self.run_cli("--json", "set", "host", A, "hostname=")
        self.assertEqual(json.loads(out), {"mac:" + A: {
            "ts": "1575812647", "ip": "172.17.3.60", "description": "Test box",
            "group": "getflix"}})

    @defer.inlineCallbacks
    def test_set_host_replace_and_moving_the_address(self):
        self.hset("mac:" + A, ip="172.17.3.60", hostname="box")
        code, _, err = yield self.run_cli("set", "host", A, "--replace", "ip=172.17.3.61")
        self.assertEqual(code, 0, err)
        self.assertEqual(self.hgetall("mac:" + A), {"ip": "172.17.3.61"})
        self.assertIn("172.17.3.61", self.reserved())
        self.assertNotIn("172.17.3.60", self.reserved())

    @defer.inlineCallbacks
    def test_setting_ip_on_a_dynamic_host_makes_it_a_reservation(self):
        self.hset("mac:" + A, ip="172.17.9.1", dynamic="1")
        code, _, err = yield self.run_cli("set", "host", A, "ip=172.17.9.1")
        self.assertEqual(code, 0, err)
        self.assertEqual(self.hgetall("mac:" + A), {"ip": "172.17.9.1"})
        self.assertIn("172.17.9.1", self.reserved())

    @defer.inlineCallbacks
    def test_set_client_group_subnet(self):
        code, _, err = yield self.run_cli("set", "client", "kitchen-hub", "ip=172.17.3.70")
        self.assertEqual(code, 0, err)
        self.assertEqual(self.hgetall("client:kitchen-hub"), {"ip": "172.17.3.70"})
        code, _, err = yield self.run_cli("set", "group", "lab", "gateway=10.0.0.1",
                                          "prefix=24", "range=10.0.0.10-10.0.0.20",
                                          "lease-time=1h30m", "option-interface-mtu=9000")
        self.assertEqual(code, 0, err)
        code, _, err = yield self.run_cli("set", "subnet", "198.51.100.0/24", "group=lab",
                                          "gateway=198.51.100.1",
                                          "range=198.51.100.10-198.51.100.99")
        self.assertEqual(code, 0, err)
        self.assertEqual(self.hgetall("subnet:198.51.100.0/24")["group"], "lab")

    @defer.inlineCallbacks
    def test_set_show_and_delete_classes(self):
        code, out, err = yield self.run_cli("set", "class", "rpi", "match-mac=b8:27:eb",
                                            "ntp=172.17.0.123")
        self.assertEqual((code, out), (0, "class:rpi\n  match-mac = b8:27:eb\n"
                                          "  ntp = 172.17.0.123\n"), err)
        code, _, err = yield self.run_cli("set", "class", "class:ipxe", "match-user-class=iPXE",
                                          "priority=10", "bootfile=http://boot.test/x.ipxe")
        self.assertEqual(code, 0, err)
        self.assertEqual(sorted(self.redis.cli("SMEMBERS", "classes").split()),
                         ["ipxe", "rpi"])
        code, out, err = yield self.run_cli("show", "classes")
        self.assertEqual((code, out), (0, "Client classes:\n\n"
                                          "class:ipxe\n  match-user-class = iPXE\n"
                                          "  priority = 10\n"
                                          "  bootfile = http://boot.test/x.ipxe\n\n"
                                          "class:rpi\n  match-mac = b8:27:eb\n"
                                          "  ntp = 172.17.0.123\n\n"), err)
        code, out, _ = yield self.run_cli("show", "classes", "--json")
        self.assertEqual(json.loads(out)["class:rpi"]["match-mac"], "b8:27:eb")
        self.assertFails((yield self.run_cli("set", "class", "bad", "match-arch=7,x")),
                         "class:bad: match-arch: 'x' is not an architecture number")
        self.assertFails((yield self.run_cli("set", "class", "bad", "dns=172.17.0.53")),
                         "a class needs at least one match field")
        self.assertNotIn("class:bad", self.keys())
        code, out, err = yield self.run_cli("delete", "class", "rpi")
        self.assertEqual((code, out), (0, "deleted class:rpi\n"), err)
        self.assertEqual(self.redis.cli("SMEMBERS", "classes").split(), ["ipxe"])

    @defer.inlineCallbacks
    def test_rejected_writes_change_nothing(self):
        before = {key: self.hgetall(key) for key in self.keys()}
        cases = [
            (("set", "host", "02:00:00:00:00", "ip=172.17.3.1"), "bad MAC address"),
            (("set", "host", A, "ip=172.17.3.999"), "ip '172.17.3.999' is not an IPv4"),
            (("set", "host", A, "ip=10.1.2.3"),
             "ip 10.1.2.3 is outside 172.17.0.0/16, the network of group:default"),
            (("set", "host", A, "ip=172.17.7.5"),
             "ip 172.17.7.5 is already reserved by mac:dc:a6:32:43:e5:e0"),
            (("set", "host", A, "group=nosuch"), "group:nosuch does not exist"),
            (("set", "host", A, "lease-time=1x"), "bad duration '1x'"),
            (("set", "host", A, "colour=blue"), "unknown field 'colour'"),
            (("set", "host", A, "dns=10.10.10"), "mac:%s: dns:" % A),
            (("set", "client", "bad id", "ip=172.17.3.1"), "bad client id"),
            (("set", "group", "bad name", "dns=1.1.1.1"), "bad group name"),
            (("set", "group", "lab", "prefix=40"), "bad netmask/prefix '40'"),
            (("set", "group", "lab", "broadcast=nonsense"), "is not an address"),
            (("set", "group", "lab", "vivso=3561:1"),
             "group:lab: vivso: '3561:1': write <enterprise>:<code>=<value>"),
            (("set", "host", A, "vivso=3561:1=0xabc"),
             "vivso: sub-option 1 of enterprise 3561: '0xabc' is not hex"),
            (("set", "group", "lab", "range=172.17.9.9-172.17.9.1"), "runs backwards"),
            (("set", "group", "lab", "gateway=10.0.0.1", "prefix=24",
              "range=10.0.0.10-10.0.1.20"), "range 10.0.0.10-10.0.1.20 is outside 10.0.0.0/24"),
            (("set", "subnet", "198.51.100.0", "dns=1.1.1.1"), "write it as network/length"),
            (("set", "subnet", "198.51.100.1/24", "dns=1.1.1.1"), "has host bits set"),
            (("set", "subnet", "198.51.100.0/24", "range=198.51.101.1-198.51.101.9"),
             "is outside 198.51.100.0/24"),
            (("delete", "group", "default"), "group:default must exist"),
            (("delete", "group", "getflix"), "group:getflix is used by mac:f4:f5:d8:a9:5a:b6"),
            (("delete", "host", A), "mac:%s does not exist" % A),
            (("pool", "add", "172.17.7.5"), "172.17.7.5 is reserved by mac:dc:a6:32:43:e5:e0"),
            (("pool", "add", "172.17.9.300"), "bad address range"),
            (("pool", "remove", "172.17.9.1"), "172.17.9.1 is not in the pool"),
            (("lease", "release", "172.17.9.1"), "no lease on 172.17.9.1"),
        ]
        for argv, message in cases:
            result = yield self.run_cli(*argv)
            err = self.assertFails(result, message)
            self.assertTrue(all(line.startswith("apidhcpd-cli: ") for line in err.splitlines()))
        self.assertEqual({key: self.hgetall(key) for key in self.keys()}, before)

    def test_usage_errors_exit_2(self):
        for argv in (("set", "host", A, "no-equals-sign"), ("frobnicate",), ("show",),
                     ("show", "nonsense"), ("set", "host", A), ("--redis", "http://x", "show",
                                                                 "mac")):
            code, _, err = self.subprocess_cli(*argv)
            self.assertEqual(code, 2, (argv, err))
            self.assertTrue(err)

    @defer.inlineCallbacks
    def test_no_redis_is_a_clear_error(self):
        self.patch(cli, "CONNECT_TIMEOUT", 0.3)
        out, err = io.StringIO(), io.StringIO()
        url = "redis://127.0.0.1:%d/0" % free_port()
        code = yield cli.run(["--redis", url, "show", "mac"], reactor, out, err)
        self.assertEqual(code, 1)
        self.assertEqual(err.getvalue(), "apidhcpd-cli: cannot connect to Redis at %s\n"
                         % url[8:-2])

    def test_delete_commands(self):
        self.hset("client:kitchen-hub", ip="172.17.3.70")
        self.hset("group:lab", dns="10.0.0.1")
        self.hset("subnet:198.51.100.0/24", group="lab")
        for argv, key in [(("host", "DC:A6:32:43:E5:E0"), "mac:dc:a6:32:43:e5:e0"),
                          (("client", "kitchen-hub"), "client:kitchen-hub"),
                          (("subnet", "198.51.100.0/24"), "subnet:198.51.100.0/24"),
                          (("group", "lab"), "group:lab")]:
            code, out, err = self.subprocess_cli("delete", *argv)
            self.assertEqual((code, out, err), (0, "deleted %s\n" % key, ""))
            self.assertNotIn(key, self.keys())

    @defer.inlineCallbacks
    def test_pool_add_remove_and_show_pools(self):
        _, out, _ = yield self.run_cli("pool", "add", "172.17.9.1-172.17.9.4", "172.17.9.9")
        self.assertEqual(out, "added 5 addresses to the pool (0 already there)\n")
        self.hset("pool", **{"172.17.9.2": A})
        _, out, _ = yield self.run_cli("pool", "add", "172.17.9.2", "172.17.9.10")
        self.assertEqual(out, "added 1 addresses to the pool (1 already there)\n")
        self.assertEqual(self.hgetall("pool")["172.17.9.2"], A)  # the owner is kept
        self.hset("group:lab", gateway="10.0.0.1", prefix="24", range="10.0.0.10-10.0.0.19")
        self.hset("mac:02:00:00:00:00:0b", ip="10.0.0.12", group="lab")
        self.hset("lease:10.0.0.10", mac="02:00:00:00:00:0c", state="bound",
                  expires="4102444800")
        self.hset("lease:10.0.0.11", mac="", state="declined", expires="4102444800")
        self.hset("lease:10.0.0.13", mac="02:00:00:00:00:0d", state="bound", expires="1")
        self.redis.cli("ZADD", "leases", "1", "10.0.0.13", "4102444800", "10.0.0.10",
                       "4102444800", "10.0.0.11")
        _, out, _ = yield self.run_cli("show", "pools")
        self.assertEqual(out.splitlines(), [
            "DHCP pools:",
            "",
            "  name           size    leased   offered  declined  reserved      free      used",
            "  group:lab        10         1         0         1         1         7     10.0%",
            "  pool              6         1         0         0         0         5     16.7%",
        ])  # used = (leased + offered) / size, as /api/v1/status: declined, reserved are not
        result = yield self.run_cli("pool", "remove", "172.17.9.2")
        self.assertFails(result, "172.17.9.2 is held by %s" % A)
        _, out, _ = yield self.run_cli("pool", "remove", "172.17.9.1", "172.17.9.2",
                                          "--force")
        self.assertEqual(out, "removed 2 addresses from the pool\n")
        self.assertEqual(sorted(self.hgetall("pool")),
                         ["172.17.9.10", "172.17.9.3", "172.17.9.4", "172.17.9.9"])

    @defer.inlineCallbacks
    def test_show_and_release_a_lease_the_server_made(self):
        store = yield connected_store(self, self.redis)
        self.hset("pool", **{"172.17.9.1": ""})
        source = AddressSource("pool", (), seed_pool=True)
        yield store.commit(A, "172.17.9.1", source, 3600, 1575812647, b"\x01\x02sw")
        code, out, _ = yield self.run_cli("show", "leases")
        self.assertEqual(out.splitlines(), [
            "DHCP leases:", "",
            "  172.17.9.1       02:00:00:00:00:0a  bound     2019-12-08 14:44:07  01027377"])
        code, out, _ = yield self.run_cli("show", "mac")
        self.assertIn("  mac:02:00:00:00:00:0a  172.17.9.1      *   2019-12-08 13:44:07  "
                      "dynamic:", out.splitlines())
        code, out, err = yield self.run_cli("lease", "release", "172.17.9.1")
        self.assertEqual((code, out, err), (0, "released 172.17.9.1\n", ""))
        self.assertEqual(self.hgetall("pool"), {"172.17.9.1": ""})
        self.assertNotIn("ip", self.hgetall("mac:" + A))
        code, out, _ = yield self.run_cli("--json", "show", "leases")
        self.assertEqual(json.loads(out), [])


class Write6CommandTests(CLITestCase):
    """The DHCPv6 side: subnet6: keys, hosts by DUID, ip6/prefix6 on any host; checked by the
    API's validation, written through put.lua (the subnets6 and reserved6 indexes follow)."""

    NET = "2001:db8:1::/64"
    DUID = "000100012a0000000200000000d1"

    def reserved6(self):
        return sorted(self.redis.cli("SMEMBERS", "reserved6").split())

    @defer.inlineCallbacks
    def test_set_show_and_delete_subnet6(self):
        self.hset("group:default", dns6="2001:db8::53")
        code, out, err = yield self.run_cli("set", "subnet6", "2001:DB8:1:0::/64",
                                            "range=2001:db8:1::100-2001:db8:1::1ff",
                                            "pd-pool=2001:db8:100::/40 56", "rapid-commit=yes")
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(out, "subnet6:2001:db8:1::/64\n"
                              "  range = 2001:db8:1::100-2001:db8:1::1ff\n"
                              "  pd-pool = 2001:db8:100::/40 56\n  rapid-commit = yes\n")
        self.assertEqual(self.redis.cli("ZRANGE", "subnets6", 0, -1, "WITHSCORES").split(),
                         [self.NET, "64"])
        code, out, _ = yield self.run_cli("show", "subnets6")
        self.assertEqual(out, "DHCPv6 subnets:\n\nsubnet6:2001:db8:1::/64\n"
                              "  range = 2001:db8:1::100-2001:db8:1::1ff\n"
                              "  pd-pool = 2001:db8:100::/40 56\n  rapid-commit = yes\n\n")
        code, out, _ = yield self.run_cli("--json", "show", "subnets6")
        self.assertEqual(json.loads(out)["subnet6:" + self.NET]["rapid-commit"], "yes")
        code, _, err = yield self.run_cli("set", "subnet6", self.NET, "rapid-commit=")
        self.assertEqual(code, 0, err)
        self.assertNotIn("rapid-commit", self.hgetall("subnet6:" + self.NET))
        self.assertFails((yield self.run_cli("set", "subnet6", self.NET,
                                             "range=2001:db8:2::1-2001:db8:2::5", "t1=soon")),
                         "apidhcpd-cli: subnet6:2001:db8:1::/64: range 2001:db8:2::1-"
                         "2001:db8:2::5 is outside 2001:db8:1::/64\n",
                         "apidhcpd-cli: subnet6:2001:db8:1::/64: t1: bad duration")
        self.assertFails((yield self.run_cli("set", "subnet6", "2001:db8:1::1/64", "dns6=::1")),
                         "bad subnet6 '2001:db8:1::1/64'")
        code, out, err = self.subprocess_cli("delete", "subnet6", "2001:0db8:1::/64")
        self.assertEqual((code, out, err), (0, "deleted subnet6:%s\n" % self.NET, ""))
        self.assertEqual(self.redis.cli("ZCARD", "subnets6").strip(), "0")

    @defer.inlineCallbacks
    def test_ipv6_reservations_on_hosts_and_duids(self):
        yield self.run_cli("set", "subnet6", self.NET, "range=2001:db8:1::100-2001:db8:1::1ff")
        code, _, err = yield self.run_cli("set", "host", A, "ip6=2001:DB8:1::10",
                                          "prefix6=2001:db8:100::/56")
        self.assertEqual(code, 0, err)
        self.assertEqual(self.reserved6(), ["2001:db8:100::/56", "2001:db8:1::10"])
        self.assertFails((yield self.run_cli("set", "duid", self.DUID, "ip6=2001:db8:1::10")),
                         "apidhcpd-cli: duid:%s: ip6 2001:db8:1::10 is already reserved by "
                         "mac:%s" % (self.DUID, A))
        self.assertFails((yield self.run_cli("set", "host", "02:00:00:00:00:0b",
                                             "ip6=2001:db8:2::10")),
                         "ip6 2001:db8:2::10 is in no subnet6: key")
        code, out, err = yield self.run_cli(
            "set", "duid", "00:01:00:01:2A:00:00:00:02:00:00:00:00:D1", "ip6=2001:db8:1::11",
            "description=router")
        self.assertEqual((code, out.splitlines()[0]), (0, "duid:" + self.DUID), err)
        code, out, _ = yield self.run_cli("show", "duids")
        self.assertEqual(out, "DHCPv6 hosts by DUID:\n\nduid:%s\n  ip6 = 2001:db8:1::11\n"
                              "  description = router\n\n" % self.DUID)
        code, out, err = yield self.run_cli("delete", "duid", self.DUID)
        self.assertEqual((code, out), (0, "deleted duid:%s\n" % self.DUID), err)
        self.assertEqual(self.reserved6(), ["2001:db8:100::/56", "2001:db8:1::10"])

    @defer.inlineCallbacks
    def test_a_seed_script_may_set_ip6_on_a_host(self):
        self.hset("subnet6:" + self.NET, dns6="2001:db8::53")
        code, out, err = yield self.run_cli("import", "-", stdin=(
            "redis-cli hset mac:%s ip6 2001:db8:1::20\n" % A))
        self.assertEqual((code, out), (0, "imported 1 hosts, 0 groups, skipped 0 lines\n"), err)
        self.assertEqual(self.reserved6(), ["2001:db8:1::20"])
        self.assertFails((yield self.run_cli("import", "-", stdin=(
            "redis-cli hset mac:02:00:00:00:00:0b ip6 2001:db8:9::20\n"))),
            "ip6 2001:db8:9::20 is in no subnet6: key")


class ShowLeases6Tests(CLITestCase):
    """`show leases` lists both families: the DHCPv6 ones under a heading of their own."""

    @defer.inlineCallbacks
    def test_both_families(self):
        from apidhcpd.inventory.allocation6 import NA, PD, source6
        from apidhcpd.store.contract6 import IAKey
        store = yield connected_store(self, self.redis)
        self.hset("pool", **{"172.17.9.1": ""})
        yield store.commit(A, "172.17.9.1", AddressSource("pool", (), seed_pool=True), 3600,
                           1575812647)
        fields = {"range": "2001:db8:1::100-2001:db8:1::1ff", "pd-pool": "2001:db8:100::/48 56"}
        net = "2001:db8:1::/64"
        yield store.commit6(IAKey("000100012a0000000200000000d1", 1), "2001:db8:1::100",
                            source6(net, fields, NA), 7200, 1575812647, mac=A)
        yield store.commit6(IAKey("00030001020000000002", 9, PD), "2001:db8:100:100::/56",
                            source6(net, fields, PD), 3600, 1575812647)
        code, out, _ = yield self.run_cli("show", "leases")
        self.assertEqual(out.splitlines(), [
            "DHCP leases:", "",
            "  172.17.9.1       02:00:00:00:00:0a  bound     2019-12-08 14:44:07",
            "",
            "DHCPv6 leases:", "",
            "  2001:db8:100:100::/56  pd  bound     2019-12-08 14:44:07  "
            "00030001020000000002          9",
            "  2001:db8:1::100        na  bound     2019-12-08 15:44:07  "
            "000100012a0000000200000000d1  1  02:00:00:00:00:0a"])
        code, out, _ = yield self.run_cli("--json", "show", "leases")
        self.assertEqual(code, 0)
        self.assertEqual([(e["family"], e["ip"]) for e in json.loads(out)],
                         [(4, "172.17.9.1"), (6, "2001:db8:100:100::/56"),
                          (6, "2001:db8:1::100")])
        self.assertEqual(json.loads(out)[2], {
            "family": 6, "ip": "2001:db8:1::100", "kind": "na",
            "duid": "000100012a0000000200000000d1", "iaid": 1, "mac": A, "state": "bound",
            "expires": 1575812647 + 7200, "pool": net})


class ShowPoolsMixin:
    """`show pools` takes its figures from store/pools.py pool_usage, the function behind
    /api/v1/status and /metrics: "used" is (bound + offered) / size, as there. The CLI adds
    "reserved" (addresses a host reserves that the store counts as neither leased nor owned)
    and "free" (the rest). Run on the memory store and on a real Redis."""

    LAB = AddressSource("group:lab", ((167772170, 167772179),))  # 10.0.0.10-10.0.0.19
    SEED = AddressSource("pool", (), seed_pool=True)

    @defer.inlineCallbacks
    def fill(self, store, now):
        yield store.put("group:default", {"gateway": "10.0.0.1", "prefix": "24"})
        yield store.put("group:lab", {"range": "10.0.0.10-10.0.0.19"})
        yield store.put("group:norange", {"dns": "192.0.2.53"})
        yield store.put("pool", {"172.17.9.1": A, "172.17.9.2": "", "172.17.9.3": "",
                                 "172.17.9.4": "02:00:00:00:00:0e", "172.17.9.5": ""})
        yield store.put("mac:02:00:00:00:00:0b", {"ip": "10.0.0.12", "group": "lab"})
        yield store.put("client:printer", {"ip": "172.17.9.3"})  # reserved, in the pool hash
        yield store.put("mac:02:00:00:00:00:1e", {"ip": "172.17.9.4"})  # reserved and owned
        yield store.commit("02:00:00:00:00:0c", "10.0.0.10", self.LAB, 3600, now)
        yield store.commit("02:00:00:00:00:0f", "10.0.0.11", self.LAB, 3600, now)
        yield store.decline("02:00:00:00:00:0f", "10.0.0.11", now, 3600)
        yield store.commit("02:00:00:00:00:0d", "10.0.0.13", self.LAB, 60, now - 7200)
        # a dynamic lease whose host then became a reservation: counted once, as leased
        yield store.commit("02:00:00:00:00:10", "10.0.0.14", self.LAB, 3600, now)
        yield store.put("mac:02:00:00:00:00:10", {"ip": "10.0.0.14"})
        yield store.offer("02:00:00:00:00:11", self.LAB, "10.0.0.15", now, 600)
        yield store.commit("02:00:00:00:00:12", "172.17.9.5", self.SEED, 3600, now)

    @defer.inlineCallbacks
    def show_pools(self, store, as_json=False):
        out = io.StringIO()
        yield show.show_pools(store, argparse.Namespace(json=as_json), out)
        return out.getvalue()

    @defer.inlineCallbacks
    def test_show_pools_counts_as_the_status_route_does(self):
        store = yield self.make_store()
        now = int(time.time())
        yield self.fill(store, now)
        text = yield self.show_pools(store)
        self.assertEqual(text.splitlines(), [
            "DHCP pools:",
            "",
            "  name           size    leased   offered  declined  reserved      free      used",
            "  group:lab        10         2         1         1         1         5     30.0%",
            "  pool              5         3         0         0         1         1     60.0%",
        ])
        entries = json.loads((yield self.show_pools(store, as_json=True)))
        usage = yield defer.ensureDeferred(pool_usage(store, now))
        self.assertEqual([(e["name"], e["size"], e["leased"], e["offered"], e["declined"],
                           e["utilisation"]) for e in entries],
                         [(u["name"], u["size"], u["bound"], u["offered"], u["declined"],
                           round(100 * u["utilisation"], 1)) for u in usage])


    @defer.inlineCallbacks
    def test_dhcpv6_pools(self):
        """Each subnet6's range and prefix pool: sizes too big for the column in short form;
        "reserved" counts the values hosts reserve inside (ip6, prefix6) that no pool lease
        counts."""
        from apidhcpd.inventory.allocation6 import NA, PD, source6
        from apidhcpd.store.contract6 import IAKey
        store = yield self.make_store()
        now = int(time.time())
        net = "2001:db8:1::/64"
        fields = {"range": "2001:db8:1::-2001:db8:1::ffff:ffff:ffff:ffff",
                  "pd-pool": "2001:db8:100::/48 56"}
        yield store.put("subnet6:" + net, fields)
        yield store.put("duid:00030001020000000002", {"ip6": "2001:db8:1::5",
                                                      "prefix6": "2001:db8:100:ff00::/56"})
        yield store.put("mac:" + A, {"prefix6": "2001:db8:100:fe00::/56"})
        yield store.commit6_reserved(IAKey("00030001020000000003", 1, PD),
                                     "2001:db8:100:fe00::/56", 3600, now)
        yield store.commit6(IAKey("00030001020000000001", 1), "2001:db8:1::100",
                            source6(net, fields, NA), 3600, now)
        yield store.offer6(IAKey("00030001020000000001", 1, PD), source6(net, fields, PD), [],
                           now, 60)
        text = yield self.show_pools(store)
        self.assertEqual(text.splitlines(), [
            "DHCP pools:",
            "",
            "  name                            size    leased   offered  declined  reserved"
            "      free      used",
            "  subnet6:2001:db8:1::/64     1.84e+19         1         0         0         1"
            "  1.84e+19      0.0%",
            "  subnet6:2001:db8:1::/64#pd       256         0         1         0         2"
            "       253      0.4%"])
        entries = json.loads((yield self.show_pools(store, as_json=True)))
        self.assertEqual((entries[0]["size"], entries[0]["free"], entries[0]["utilisation"]),
                         (2 ** 64, 2 ** 64 - 2, 5.42101e-18))


class MemoryShowPoolsTests(ShowPoolsMixin, unittest.TestCase):
    def make_store(self):
        return defer.succeed(MemoryStore())


class RedisShowPoolsTests(ShowPoolsMixin, RedisTestMixin, unittest.TestCase):
    def make_store(self):
        return connected_store(self, self.redis)


class ExplainTests(CLITestCase):
    """`explain name=value...`: a table of where each field came from, or --json; no write."""

    def setUp(self):
        super().setUp()
        self.hset("group:default", gateway="192.0.2.1", prefix="24", dns="192.0.2.53",
                  lease_time="1h")
        self.hset("subnet:198.51.100.0/24", gateway="198.51.100.1", group="lab",
                  range="198.51.100.10-198.51.100.20")
        self.hset("group:lab", ntp="198.51.100.123")
        self.hset("class:uefi", match_arch="7", boot_file="ipxe.efi", next_server="198.51.100.5")
        self.redis.cli("SADD", "classes", "uefi")
        self.hset("mac:" + A, ip="198.51.100.7", hostname="node", group="lab")

    def state(self):
        return {key: (self.redis.cli("TYPE", key).strip(), self.hgetall(key)
                      if self.redis.cli("TYPE", key).strip() == "hash"
                      else self.redis.cli("SMEMBERS", key)) for key in self.keys()}

    @defer.inlineCallbacks
    def test_a_table_of_sources(self):
        before = self.state()
        code, out, err = yield self.run_cli("explain", "mac=" + A.upper(), "arch=7",
                                            "giaddr=198.51.100.1")
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(self.state(), before)  # nothing written, not even ts
        lines = [" ".join(line.split()) for line in out.splitlines()]
        for line in ("host mac:" + A, "network subnet 198.51.100.0/24 (by 198.51.100.1)",
                     "group lab", "classes uefi (the last wins)",
                     "address 198.51.100.7, reserved by mac:" + A,
                     "boot next-server 198.51.100.5, boot-file ipxe.efi",
                     "dns 192.0.2.53 group:default", "gateway 198.51.100.1 subnet:198.51.100.0/24",
                     "ntp 198.51.100.123 group:lab", "boot-file ipxe.efi class:uefi",
                     "hostname node mac:" + A, "42 ntp-servers 198.51.100.123 group:lab"):
            self.assertIn(line, lines)

    @defer.inlineCallbacks
    def test_a_pxe_client_and_a_reservation_another_client_holds(self):
        holder = "02:00:00:00:00:0c"
        self.hset("lease:198.51.100.15", mac=holder, state="bound",
                  expires=str(int(time.time()) + 3600))
        self.redis.cli("ZADD", "leases", str(int(time.time()) + 3600), "198.51.100.15")
        self.hset("mac:02:00:00:00:00:0b", ip="198.51.100.15")
        before = self.state()
        code, out, err = yield self.run_cli("explain", "mac=02:00:00:00:00:0b", "arch=7",
                                            "vendor-class=PXEClient:Arch:00007:UNDI:003016",
                                            "giaddr=198.51.100.1")
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(self.state(), before)  # nothing written
        lines = [" ".join(line.split()) for line in out.splitlines()]
        for line in ("NO ANSWER reserved 198.51.100.15 is leased to %s (reserved-conflict)"
                     % holder,
                     "CODE OPTION VALUE FROM",
                     "6 domain-name-server 192.0.2.53 group:default",
                     "60 vendor-class-identifier PXEClient " + explanation.ECHO,
                     "43 vendor-specific 060108ff " + explanation.PXE_DEFAULT):
            self.assertIn(line, lines)
        code, out, _ = yield self.run_cli("explain", "--json", "mac=" + holder,
                                          "giaddr=198.51.100.1")
        self.assertEqual(json.loads(out)["drop_kind"], None)

    @defer.inlineCallbacks
    def test_json_and_an_unknown_client(self):
        code, out, _ = yield self.run_cli("explain", "--json", "mac=02:00:00:00:00:0b",
                                          "giaddr=198.51.100.1")
        self.assertEqual(code, 0)
        found = json.loads(out)
        self.assertEqual((found["host"], found["classes"]), (None, []))
        self.assertEqual(found["address"], {"kind": "free", "source": "198.51.100.0/24",
                                            "ranges": ["198.51.100.10-198.51.100.20"],
                                            "seed_pool": False})
        code, out, _ = yield self.run_cli("explain", "mac=02:00:00:00:00:0b",
                                          "giaddr=198.51.100.1")
        self.assertIn("a free address from 198.51.100.0/24 (198.51.100.10-198.51.100.20)", out)

    @defer.inlineCallbacks
    def test_bad_words(self):
        code, _, err = yield self.run_cli("explain", "mac")
        self.assertEqual(code, 2)
        self.assertIn("write name=value", err)
        code, _, err = yield self.run_cli("explain", "mac=" + A, "arch=x")
        self.assertEqual((code, err.strip()),
                         (1, "apidhcpd-cli: arch: 'x' is not an architecture number (0-65535)"))
        code, _, err = yield self.run_cli("explain", "mac=" + A, "link=nope")
        self.assertEqual(code, 2)


class ParsingTests(unittest.TestCase):
    """The CLI's own parsing; keys and values are tests/test_validation.py's."""

    def test_field_assignments(self):
        self.assertEqual(edit.field_assignments(["ip=192.0.2.1", "dns=", "description=a=b"]),
                         ({"ip": "192.0.2.1", "description": "a=b"}, {"dns"}))
        self.assertRaises(edit.Usage, edit.field_assignments, ["=x"])

    def test_dhcpd_tokens_skip_comments_and_unquote(self):
        tokens = list(importers.dhcpd_tokens('host "a b" { # x { ;\n option host-name "q\\"x"; }'))
        self.assertEqual(tokens, [("word", "host", 1), ("string", "a b", 1), ("{", "{", 1),
                                  ("word", "option", 2), ("word", "host-name", 2),
                                  ("string", 'q"x', 2), (";", ";", 2), ("}", "}", 2)])

    def test_format_detection(self):
        self.assertEqual(importers.detect_format("# x\nredis-cli del mac:x\n"), "seed")
        self.assertEqual(importers.detect_format("group {\n host a {\n}\n}\n"), "dhcpd")
