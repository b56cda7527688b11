"""Tests of the bench's pure parts (no root, no processes):
    .venv/bin/python -m unittest discover -s bench -p 'test_*.py'
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ipaddress
import json

import check
import perf
import profiling
import report
import rig
import servers
import sweep

REPORT = """Running: perfdhcp -4 -l 192.0.2.2 -R 50000 -r 400 -p 10 192.0.2.1
Scenario: basic.
Multi-thread mode enabled.
***Rate statistics***
Rate: 385.214 4-way exchanges/second, expected rate: 400
***Malformed Packets***
Malformed packets: 0
***Statistics for: DISCOVER-OFFER***
sent packets: 3999
received packets: 3945
drops: 54
drops ratio: 1.35034 %
orphans: 2
rejected leases: 0
non unique addresses: 0

min delay: 0.746 ms
avg delay: 67.124 ms
max delay: 692.009 ms
std deviation: 132.108 ms
collected packets: 0

***Statistics for: REQUEST-ACK***
sent packets: 3945
received packets: 3857
drops: 88
drops ratio: 2.231 %
orphans: 0
rejected leases: 0
non unique addresses: 0

min delay: 0.771 ms
avg delay: 63.086 ms
max delay: 737.163 ms
std deviation: 127.809 ms
collected packets: 0
"""

NOTHING = """***Statistics for: REQUEST-ACK***
sent packets: 0
received packets: 0
drops: 0
drops ratio: -nan %
min delay: inf ms
avg delay: min delay: n/a
avg delay: n/a
max delay: n/a
"""


class ParseTest(unittest.TestCase):
    def test_report(self):
        stats = perf.parse(REPORT)
        self.assertEqual(stats["rate"], 385.214)
        self.assertEqual(stats["malformed"], 0)
        self.assertEqual(stats["do"]["sent_packets"], 3999)
        self.assertEqual(stats["do"]["orphans"], 2)
        self.assertEqual(stats["ra"]["received_packets"], 3857)
        self.assertEqual(stats["ra"]["avg"], 63.086)
        self.assertEqual(stats["do"]["max"], 692.009)

    def test_no_packets(self):
        stats = perf.parse(NOTHING)
        self.assertEqual(stats["ra"]["sent_packets"], 0)
        self.assertIsNone(stats["ra"]["min"])
        self.assertIsNone(stats["ra"]["avg"])

    def test_judge(self):
        t = perf.judge(perf.parse(REPORT), 400, 10)
        self.assertEqual(t["acks"], 3857)
        self.assertAlmostEqual(t["drops_pct"], 100 * (1 - 3857 / 3999.0), places=2)
        self.assertAlmostEqual(t["dora_per_s"], 385.7)
        self.assertFalse(t["ok"])
        self.assertIn("failed", t["why"])

    def test_judge_generator_short(self):
        text = REPORT.replace("received packets: 3857", "received packets: 3990")
        t = perf.judge(perf.parse(text), 1000, 10)  # 3999 of 10000 sent
        self.assertFalse(t["ok"])
        self.assertIn("perfdhcp sent only", t["why"])

    def test_command_is_bounded(self):
        argv = perf.command(100, 5, 50000)
        self.assertIn("-p", argv)
        self.assertEqual(argv[argv.index("-R") + 1], "50000")
        self.assertEqual(argv[-1], "192.0.2.1")


REPORT6 = """Running: perfdhcp -6 -l eth0 -r 3200 -R 50000 -p 6 -d 1.0 -W 1000000 -s 1 all
Scenario: basic.
Multi-thread mode enabled.
***Rate statistics***
Rate: 1942.68 4-way exchanges/second, expected rate: 3200

***Malformed Packets***
Malformed packets: 0
***Statistics for: SOLICIT-ADVERTISE***
sent packets: 19191
received packets: 15561
drops: 3630
drops ratio: 18.9151 %
orphans: 0
rejected leases: 0
non unique addresses: 0

min delay: 0.098 ms
avg delay: 41.479 ms
max delay: 67.529 ms
std deviation: 7.889 ms
collected packets: 333

***Statistics for: REQUEST-REPLY***
sent packets: 15561
received packets: 13607
drops: 1954
drops ratio: 12.557 %
orphans: 1
rejected leases: 0
non unique addresses: 0

min delay: 0.102 ms
avg delay: 38.2 ms
max delay: 66.0 ms
std deviation: 7.1 ms
collected packets: 0
"""


class Parse6Test(unittest.TestCase):
    """perfdhcp -6's report: SOLICIT-ADVERTISE and REQUEST-REPLY are the two halves."""

    def test_report(self):
        stats = perf.parse(REPORT6)
        self.assertEqual(stats["rate"], 1942.68)
        self.assertEqual(stats["do"]["sent_packets"], 19191)
        self.assertEqual(stats["do"]["received_packets"], 15561)
        self.assertEqual(stats["ra"]["received_packets"], 13607)
        self.assertEqual(stats["ra"]["orphans"], 1)
        self.assertEqual(stats["do"]["avg"], 41.479)
        self.assertEqual(stats["ra"]["max"], 66.0)

    def test_judge(self):
        t = perf.judge(perf.parse(REPORT6), 3200, 6)
        self.assertEqual(t["discovers"], 19191)  # SOLICITs
        self.assertEqual(t["acks"], 13607)       # REPLYs
        self.assertAlmostEqual(t["drops_pct"], 100 * (1 - 13607 / 19191.0), places=2)
        self.assertAlmostEqual(t["dora_per_s"], round(13607 / 6.0, 1))
        self.assertFalse(t["ok"])

    def test_command(self):
        argv = perf.command(100, 5, 50000, family=6)
        self.assertEqual(argv[1:4], ["-6", "-l", rig.IFACE])  # the interface, not an address
        self.assertEqual(argv[argv.index("-R") + 1], "50000")
        self.assertEqual(argv[argv.index("-r") + 1], "100")
        self.assertEqual(argv[argv.index("-p") + 1], "5")
        self.assertEqual(argv[-1], "all")  # ff02::1:2
        self.assertNotIn("-4", argv)
        self.assertNotIn(rig.SERVER_IP, argv)

    def test_names(self):
        def trial(text, rate, seconds):
            return dict(perf.judge(perf.parse(text), rate, seconds), rate=rate)
        line = report.trial_line("kea", "sweep", trial(REPORT6, 3200, 6), perf.FAMILIES[6])
        self.assertIn("SARR/s", line)
        self.assertIn("RR avg", line)
        self.assertNotIn("DORA", line)
        self.assertIn("DORA/s", report.trial_line("kea", "sweep", trial(REPORT, 400, 10)))
        m = sweep.medians([dict(trial(REPORT6, 3200, 6), cpu_pct={"server": 40.0},
                                cpu_us_per_dora=250)])
        table = report.table({"kea": {"median": m}}, 1, perf.FAMILIES[6])
        self.assertIn("SA avg/max ms", table)
        self.assertIn("us/SARR", table)


class Config6Test(unittest.TestCase):
    """Kea6 and apidhcpd's subnet6: serve the same pool, options and lifetimes."""

    def setUp(self):
        self.rig = rig.Rig.__new__(rig.Rig)  # no namespaces: only what the config reads
        self.rig.family = 6

    def config(self):
        return servers.Kea6(self.rig, "/nonexistent").configuration()["Dhcp6"]

    def test_kea6(self):
        c = self.config()
        self.assertEqual(c["lease-database"]["type"], "memfile")
        self.assertIs(c["lease-database"]["persist"], True)
        self.assertTrue(c["lease-database"]["name"].endswith("leases6.csv"))
        self.assertEqual(c["interfaces-config"]["interfaces"], [rig.IFACE])
        self.assertFalse(c["multi-threading"]["enable-multi-threading"])
        self.assertEqual(c["loggers"][0]["name"], "kea-dhcp6")
        self.assertEqual(c["data-directory"], "/nonexistent/kea")
        (subnet,) = c["subnet6"]
        self.assertEqual(subnet["interface"], rig.IFACE)  # clients on the link
        self.assertIn(ipaddress.ip_address(rig.SERVER_IP6), ipaddress.ip_network(subnet["subnet"]))
        pool = ipaddress.ip_network(subnet["pools"][0]["pool"])
        self.assertTrue(pool.subnet_of(ipaddress.ip_network(subnet["subnet"])))
        self.assertGreaterEqual(pool.num_addresses, 50000)
        self.assertLessEqual(pool.num_addresses, servers.POOL6_SIZE)
        for own in (rig.SERVER_IP6, rig.CLIENT_IP6):  # no interface address is leased
            self.assertNotIn(ipaddress.ip_address(own), pool)
        self.assertEqual(pool, check.LEASED6)
        json.dumps(c)

    def test_same_lifetimes_and_options(self):
        c = self.config()
        fields = servers.subnet6_fields()
        ours = dict(zip(fields[::2], fields[1::2]))
        self.assertEqual(int(ours["valid-lifetime"]), c["valid-lifetime"])
        self.assertEqual(int(ours["preferred-lifetime"]), c["preferred-lifetime"])
        self.assertEqual(int(ours["t1"]), c["renew-timer"])
        self.assertEqual(int(ours["t2"]), c["rebind-timer"])
        options = {o["name"]: o["data"] for o in c["subnet6"][0]["option-data"]}
        self.assertEqual(options, {"dns-servers": ours["dns6"], "domain-search": ours["domain"]})
        first, last = (ipaddress.ip_address(a) for a in ours["range"].split("-"))
        pool = ipaddress.ip_network(c["subnet6"][0]["pools"][0]["pool"])
        self.assertEqual((first, last), (pool[0], pool[-1]))
        self.assertEqual(ours["range"].split("-"), [first.compressed, last.compressed])

    def test_kea4_unchanged(self):
        self.rig.family = 4
        c = servers.Kea(self.rig, "/nonexistent").configuration()["Dhcp4"]
        self.assertIs(c["lease-database"]["persist"], True)
        self.assertTrue(c["lease-database"]["name"].endswith("leases4.csv"))
        self.assertEqual(c["subnet4"][0]["pools"][0]["pool"],
                         "%s - %s" % (servers.POOL_FIRST, servers.POOL_LAST))
        self.assertNotIn("subnet6", c)

    def test_generic_log_lines(self):
        line = servers._generic(
            "DHCP6_LEASE_ALLOC duid=[00:01:00:01:32:a2:30:dc:00:0c:01:02:03:04]"
            " lease 2001:db8:1:0:1::1c has been allocated, 10.64.0.1 and fe80::1")
        self.assertNotIn("2001:db8", line)
        self.assertNotIn("fe80", line)
        self.assertNotIn("00:0c", line)
        self.assertIn("<duid>", line)
        self.assertIn("<ip6> has been", line)
        self.assertIn("<ip>", line)
        self.assertIn("12:30:45 stays", servers._generic("12:30:45 stays"))


class SearchTest(unittest.TestCase):
    def run_search(self, capacity, **kw):
        tried = []

        def trial(rate):
            tried.append(rate)
            return {"rate": rate, "ok": rate <= capacity}
        kw.setdefault("fine_steps", 4)
        held, _history = sweep.search(trial, kw.pop("start", 100), kw.pop("ceiling", 20000), **kw)
        return held, tried

    def test_doubles_then_bisects(self):
        held, tried = self.run_search(330)
        self.assertEqual(tried[:3], [100, 200, 400])
        self.assertLessEqual(held, 330)
        self.assertGreaterEqual(held, 300)
        self.assertLessEqual(len(tried), 7)

    def test_start_too_high_halves(self):
        held, tried = self.run_search(30, start=100)
        self.assertEqual(tried[:3], [100, 50, 30 if 30 in tried else tried[2]])
        self.assertGreater(held, 0)
        self.assertLessEqual(held, 30)

    def test_ceiling(self):
        held, tried = self.run_search(10 ** 6, ceiling=1000)
        self.assertEqual(held, 1000)
        self.assertEqual(tried[-1], 1000)

    def test_nothing_holds(self):
        held, tried = self.run_search(0)
        self.assertEqual(held, 0)
        self.assertEqual(tried[-1], 10)

    def test_medians(self):
        def t(rate, dora, drops, ok=True):
            lat = {"min": 1.0, "avg": dora / 100.0, "max": 9.0, "std": 1.0}
            return {"rate": rate, "dora_per_s": dora, "drops_pct": drops, "ok": ok,
                    "cpu_us_per_dora": 2000, "discovers": 1, "acks": 1,
                    "latency_ms": {"do": lat, "ra": lat}, "cpu_pct": {"server": dora / 10.0}}
        m = sweep.medians([t(300, 299.0, 0.1), t(300, 280.0, 1.5, False), t(300, 300.0, 0.0)])
        self.assertEqual(m["dora_per_s"], 299.0)
        self.assertEqual(m["drops_pct"], 0.1)
        self.assertEqual(m["cpu_pct"]["server"], 29.9)
        self.assertTrue(m["ok"])


class CheckTest(unittest.TestCase):
    GOOD = ("10:24:24.781334 IP 192.0.2.2.67 > 192.0.2.1.67: UDP, length 262\n"
            "10:24:24.783609 IP 192.0.2.1.67 > 192.0.2.2.67: UDP, length 313\n"
            "10:24:27.316737 ARP, Request who-has 192.0.2.2 tell 192.0.2.1, length 28\n")
    IFACES = {"srv": ["127.0.0.1/8", "192.0.2.1/24"], "cli": ["127.0.0.1/8", "192.0.2.2/24"]}

    def test_good(self):
        result = check.verify(self.GOOD, self.IFACES)
        self.assertTrue(result["ok"], result["problems"])
        self.assertEqual(result["from_server"], 1)

    def test_reply_to_leased_address(self):
        text = self.GOOD + "10:24:25.0 IP 192.0.2.1.67 > 10.64.0.11.68: UDP, length 300\n"
        result = check.verify(text, self.IFACES)
        self.assertFalse(result["ok"])
        self.assertEqual(result["leased_addresses_on_wire"], ["10.64.0.11"])

    def test_arp_for_leased_address(self):
        text = self.GOOD + "10:24:25.0 ARP, Request who-has 10.64.0.12 tell 192.0.2.1, length 28\n"
        self.assertFalse(check.verify(text, self.IFACES)["ok"])

    def test_interface_with_leased_address(self):
        ifaces = dict(self.IFACES, srv=["192.0.2.1/24", "10.64.0.1/16"])
        self.assertFalse(check.verify(self.GOOD, ifaces)["ok"])


class Check6Test(unittest.TestCase):
    SERVER_LL, CLIENT_LL = "fe80::c83e:ebff:feae:41ab", "fe80::b41d:d4ff:fe49:3d25"
    GOOD = (
        "01:28:59.664262 IP6 fe80::b41d:d4ff:fe49:3d25 > ff02::16: HBH ICMP6, multicast "
        "listener report v2, 2 group record(s), length 48\n"
        "01:29:00.564413 IP6 2001:db8:1::2.546 > ff02::1:2.547: UDP, length 52\n"
        "01:29:00.564980 IP6 fe80::c83e:ebff:feae:41ab > ff02::1:ff00:2: ICMP6, neighbor "
        "solicitation, who has 2001:db8:1::2, length 32\n"
        "01:29:00.565016 IP6 2001:db8:1::2 > fe80::c83e:ebff:feae:41ab: ICMP6, neighbor "
        "advertisement, tgt is 2001:db8:1::2, length 32\n"
        "01:29:00.565026 IP6 fe80::c83e:ebff:feae:41ab.547 > 2001:db8:1::2.546: UDP, length 120\n"
        "01:29:00.565356 IP6 2001:db8:1::2.546 > ff02::1:2.547: UDP, length 90\n"
        "01:29:00.565641 IP6 fe80::c83e:ebff:feae:41ab.547 > 2001:db8:1::2.546: UDP, length 84\n")
    IFACES = {"srv": ["127.0.0.1/8", "192.0.2.1/24", "::1/128", "2001:db8:1::1/64",
                      SERVER_LL + "/64"],
              "cli": ["127.0.0.1/8", "192.0.2.2/24", "::1/128", "2001:db8:1::2/64",
                      CLIENT_LL + "/64"]}

    def test_good(self):
        result = check.verify6(self.GOOD, self.IFACES)
        self.assertTrue(result["ok"], result["problems"])
        self.assertEqual(result["from_server"], 2)
        self.assertEqual(result["to_clients_port_546"], 2)
        self.assertEqual(result["packets"], 7)

    def test_nothing_from_the_server(self):
        text = "\n".join(line for line in self.GOOD.splitlines() if ".547 >" not in line)
        self.assertFalse(check.verify6(text, self.IFACES)["ok"])

    def test_reply_to_leased_address(self):
        text = self.GOOD + ("01:29:01.0 IP6 fe80::c83e:ebff:feae:41ab.547 > 2001:db8:1:0:1::1c.546:"
                            " UDP, length 84\n")
        result = check.verify6(text, self.IFACES)
        self.assertFalse(result["ok"])
        self.assertEqual(result["leased_addresses_on_wire"], ["2001:db8:1:0:1::1c"])
        self.assertIn("did not go to", " ".join(result["problems"]))

    def test_reply_to_another_port(self):
        text = self.GOOD.replace("2001:db8:1::2.546: UDP, length 84", "2001:db8:1::2.547: UDP, "
                                 "length 84")
        self.assertFalse(check.verify6(text, self.IFACES)["ok"])

    def test_neighbour_solicitation_for_leased_address(self):
        text = self.GOOD + ("01:29:01.0 IP6 fe80::c83e:ebff:feae:41ab > ff02::1:ff00:0: ICMP6, "
                            "neighbor solicitation, who has 2001:db8:1:0:1::, length 32\n")
        result = check.verify6(text, self.IFACES)
        self.assertFalse(result["ok"])
        self.assertEqual(result["leased_addresses_on_wire"], ["2001:db8:1:0:1::"])

    def test_stranger(self):
        text = self.GOOD + "01:29:01.0 IP6 2001:db8:9::9.546 > ff02::1:2.547: UDP, length 52\n"
        self.assertFalse(check.verify6(text, self.IFACES)["ok"])

    def test_ipv4_on_the_link(self):
        text = self.GOOD + CheckTest.GOOD
        self.assertIn("IPv4", " ".join(check.verify6(text, self.IFACES)["problems"]))

    def test_interface_addresses(self):
        for bad in ("2001:db8:1:0:1::5/64", "2001:db9::1/64", "10.64.0.1/16"):
            ifaces = dict(self.IFACES, srv=self.IFACES["srv"] + [bad])
            self.assertFalse(check.verify6(self.GOOD, ifaces)["ok"], bad)

    def test_addresses_in_a_line(self):
        found = check.addresses6("IP6 fe80::1 > ff02::1:ff00:2: ICMP6, neighbor solicitation, "
                                 "who has 2001:db8:1::2, length 32")
        self.assertEqual([str(a) for a in found], ["fe80::1", "ff02::1:ff00:2", "2001:db8:1::2"])


class ArgsTest(unittest.TestCase):
    def test_family_and_kea_only(self):
        import run
        a = run.parse_args(["--family", "6", "--kea-only", "--quick"])
        self.assertEqual((a.family, a.kea_only, a.trial_seconds), (6, True, 2))
        self.assertEqual(run.parse_args([]).family, 4)
        self.assertIn("-6", run.rig_facts(a)["perfdhcp"])
        self.assertEqual(run.rig_facts(a)["pool6"], servers.POOL6)
        self.assertEqual(run.rig_facts(run.parse_args([]))["pool"],
                         "%s-%s" % (servers.POOL_FIRST, servers.POOL_LAST))

    def test_refused(self):
        import run
        with open(os.devnull, "w") as quiet:
            stderr, sys.stderr = sys.stderr, quiet
            try:
                for argv in (["--no-kea", "--kea-only"], ["--profile", "--kea-only"],
                             ["--family", "5"], ["--clients", "70000"]):
                    with self.assertRaises(SystemExit, msg=argv):
                        run.parse_args(argv)
            finally:
                sys.stderr = stderr
        self.assertEqual(run.parse_args(["--family", "6", "--clients", "70000"]).clients, 70000)


class RigTest(unittest.TestCase):
    def test_documentation(self):
        for good in ("192.0.2.1/24", "2001:db8:1::1/64", "2001:db8::/32", "203.0.113.9"):
            self.assertTrue(rig.is_documentation(good), good)
        for bad in ("10.64.0.1/16", "2001:db9::1/64", "fe80::1/64", "2001:db8::/31"):
            self.assertFalse(rig.is_documentation(bad), bad)


class ProfileTest(unittest.TestCase):
    def test_summary_and_svg(self):
        stacks = [(["<module> (twistd:8)", "run (twisted/x.py:1)", "decode (apidhcpd/codec.py:9)"],
                   30),
                  (["<module> (twistd:8)", "run (twisted/x.py:1)"], 10)]
        text = profiling.summarise(stacks)
        self.assertIn("40 busy samples", text)
        self.assertIn("75.0%  decode (apidhcpd/codec.py:9)", text)
        self.assertIn("apidhcpd and txredisapi functions by inclusive", text)
        svg = profiling.flame_svg(stacks)
        self.assertTrue(svg.startswith("<svg"))
        self.assertIn("decode", svg)


if __name__ == "__main__":
    unittest.main()
