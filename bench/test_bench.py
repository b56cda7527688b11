"""Tests of the bench's pure parts (no root, no processes):
    .venv/bin/python -m unittest discover -s bench -p 'test_*.py'
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import check
import perf
import profiling
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
