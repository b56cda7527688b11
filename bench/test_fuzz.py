"""Tests of fuzz.py's generators and log reading, and of pooltime.py's arithmetic (no root):
    .venv/bin/python -m unittest discover -s bench -p 'test_*.py'
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fuzz
import pooltime

from apidhcpd.dhcp4 import codec
from apidhcpd.dhcp4.relay import relay_info


def bits_differing(a, b):
    return sum(bin(x ^ y).count("1") for x, y in zip(a, b)) + 8 * abs(len(a) - len(b))


def mutated(seed, *names):
    """A packet from a valid message with exactly the named option mutations applied."""
    fz = fuzz.Fuzzer(seed)
    msg = fz.valid_message()
    items = list(msg.options.items())
    msg.options = {}
    head = bytearray(codec.encode(msg)[:codec.HEADER_SIZE])
    body = [fuzz.tlv(code, value) for code, value in items]
    end = True
    for name in names:
        end = getattr(fz, "mut_" + name)(head, body, items) and end
    return items, bytes(head) + b"".join(body) + (b"\xff" if end else b"")


class Generators(unittest.TestCase):
    def test_the_same_seed_gives_the_same_packets(self):
        self.assertEqual(fuzz.Fuzzer(4).batch(300), fuzz.Fuzzer(4).batch(300))
        self.assertNotEqual(fuzz.Fuzzer(4).batch(300), fuzz.Fuzzer(5).batch(300))

    def test_the_mix_uses_every_generator(self):
        fz = fuzz.Fuzzer(1)
        kinds = {kind for kind, _, _, _ in fz.batch(2000)}
        self.assertEqual(kinds, {k for k, _ in fuzz.MIX})

    def test_a_mix_of_chosen_generators(self):
        mix = fuzz.parse_mix("relay82=3,bitflip")
        self.assertEqual(mix, (("relay82", 3.0), ("bitflip", 1.0)))
        kinds = {kind for kind, _, _, _ in fuzz.Fuzzer(1, mix=mix).batch(200)}
        self.assertEqual(kinds, {"relay82", "bitflip"})
        with self.assertRaises(ValueError):
            fuzz.parse_mix("nonsense=1")

    def test_random_packets_are_0_to_1500_bytes(self):
        fz = fuzz.Fuzzer(2)
        sizes = [len(fz.gen_random()[0]) for _ in range(2000)]
        self.assertTrue(0 <= min(sizes) and max(sizes) <= 1500)
        self.assertLess(min(sizes), 100)
        self.assertGreater(max(sizes), 1400)

    def test_flip_bits_inverts_exactly_those_bits(self):
        data = bytes(range(40))
        flipped = fuzz.flip_bits(data, [0, 9, 319])
        self.assertEqual(bits_differing(data, flipped), 3)
        self.assertEqual(flipped[0], data[0] ^ 0x80)
        self.assertEqual(flipped[1], data[1] ^ 0x40)
        self.assertEqual(flipped[39], data[39] ^ 0x01)

    def test_bitflip_flips_1_to_8_bits_of_a_valid_message(self):
        for seed in range(50):
            fz = fuzz.Fuzzer(seed)
            state = fz.rng.getstate()
            original = codec.encode(fz.valid_message())
            self.assertIn(codec.decode(original).message_type, fuzz.CLIENT_TYPES)
            fz.rng.setstate(state)
            data, sport = fz.gen_bitflip()
            self.assertTrue(1 <= bits_differing(original, data) <= 8, seed)
            self.assertEqual(sport, 68)

    def test_valid_messages_decode_with_the_servers_codec(self):
        fz = fuzz.Fuzzer(3)
        for _ in range(300):
            msg = codec.decode(codec.encode(fz.valid_message()))
            self.assertEqual(msg.op, 1)
            self.assertIn(msg.message_type, fuzz.CLIENT_TYPES)
            self.assertFalse(msg.xid & 0xFF000000 == fuzz.PROBE_XID)

    def test_truncated_option_areas_do_not_decode(self):
        for seed in range(30):
            for before in ((), ("huge",), ("pads", "long_option"), ("repeat",)):
                _, data = mutated(seed, *before, "truncated")
                with self.assertRaises(codec.CodecError):
                    codec.decode(data)

    def test_bad_lengths_are_0_1_or_255(self):
        seen = set()
        for seed in range(60):
            fz = fuzz.Fuzzer(seed)
            body = [fuzz.tlv(53, b"\x01"), fuzz.tlv(55, b"\x01\x03\x06")]
            fz.mut_bad_length(bytearray(240), body, [])
            lengths = {part[1] for part in body}
            self.assertTrue(lengths - {1, 3} <= {0, 255} or lengths == {1, 3})
            seen |= lengths
        self.assertTrue({0, 255} <= seen)

    def test_huge_options_are_long_options_of_256_to_2000_bytes(self):
        for seed in range(30):
            items, data = mutated(seed, "huge")
            msg = codec.decode(data)
            long = [code for code in (61, 12, 82)
                    if len(msg.options.get(code, b"")) - len(dict(items).get(code, b"")) >= 256]
            self.assertEqual(len(long), 1, seed)
            self.assertLessEqual(len(msg.options[long[0]]), 2000 + 7)

    def test_repeated_options_are_concatenated_by_the_codec(self):
        for seed in range(30):
            items, data = mutated(seed, "repeat")
            msg = codec.decode(data)
            grown = [code for code, value in items
                     if value and len(msg.options[code]) > len(value)]
            self.assertEqual(len(grown), 1, seed)
            code = grown[0]
            self.assertEqual(len(msg.options[code]) % len(dict(items)[code]), 0)

    def test_long_options_are_split_into_instances(self):
        fz = fuzz.Fuzzer(1)
        value = bytes(range(200)) * 3
        split = fuzz.split_long(55, value, fz.rng)
        self.assertGreater(split.count(b"\x37"), 1)
        options = {}
        codec.scan_options(split, 0, len(split), options)
        self.assertEqual(options[55], value)

    def test_overload_sets_option_52(self):
        values = set()
        for seed in range(40):
            _, data = mutated(seed, "overload")
            self.assertEqual(data[codec.HEADER_SIZE], 52)
            values.add(data[codec.HEADER_SIZE + 2])
        self.assertTrue({1, 2, 3} <= values and values - {1, 2, 3})

    def test_missing_end(self):
        _, data = mutated(1, "no_end")
        self.assertNotEqual(data[-1:], b"\xff")

    def test_forged_option_82_with_and_without_giaddr(self):
        fz = fuzz.Fuzzer(8)
        giaddrs, subs, ports = set(), set(), set()
        decoded = 0
        for _ in range(1500):
            data, sport = fz.gen_relay82()
            ports.add(sport)
            msg = codec.decode(data)  # the generator's packets always decode
            decoded += 1
            self.assertIsNotNone(msg.relay_agent_info)
            giaddrs.add(msg.giaddr)
            info = relay_info(msg)
            if info.link_selection:
                subs.add("link-selection")
            if info.server_id_override:
                subs.add("server-id-override")
            if info.source_port:
                subs.add("source-port")
            if info.circuit_id is not None:
                subs.add("circuit-id")
            if len(msg.relay_agent_info) > 255:
                subs.add("huge")
        self.assertEqual(ports, {67, 68})
        self.assertTrue({"0.0.0.0", "255.255.255.255", "127.0.0.1", fuzz.SERVER_IP,
                         fuzz.CLIENT_IP, "224.0.0.1"} <= giaddrs)
        self.assertEqual(subs, {"link-selection", "server-id-override", "source-port",
                                "circuit-id", "huge"})

    def test_fields_include_hlen_over_16_and_odd_chaddrs(self):
        fz = fuzz.Fuzzer(9)
        hlens, chaddrs = set(), set()
        for _ in range(500):
            data, _ = fz.gen_fields()
            hlens.add(data[2])
            chaddrs.add(data[28:34])
        self.assertTrue(any(h > 16 for h in hlens) and 0 in hlens)
        self.assertIn(b"\xff" * 6, chaddrs)
        self.assertIn(b"\x01\x00\x5e\x00\x00\x01", chaddrs)

    def test_probe_is_a_valid_broadcast_discover(self):
        msg = codec.decode(fuzz.probe_packet(7))
        self.assertEqual((msg.message_type, msg.xid, msg.broadcast, msg.mac),
                         (fuzz.DISCOVER, fuzz.PROBE_XID | 7, True, fuzz.RESERVED_MAC))
        relayed = codec.decode(fuzz.probe_packet(1, fuzz.DYNAMIC_MAC, giaddr=fuzz.RELAY_IP))
        self.assertEqual((relayed.giaddr, relayed.mac), (fuzz.RELAY_IP, fuzz.DYNAMIC_MAC))


LOG = """\
2026-12-01T18:00:00+0000 [-] Loading apidhcpd...
2026-12-01T18:00:01+0000 [apidhcpd.protocol#info] dropped malformed packet from 192.0.2.2:68: \
hlen 200 > 16
2026-12-01T18:00:01+0000 [apidhcpd.protocol#warn] could not send to 198.51.100.7:67: [Errno 11] x
2026-12-01T18:00:02+0000 [apidhcpd.protocol#warn] could not send to 198.51.100.9:67: [Errno 11] x
2026-12-01T18:00:03+0000 [apidhcpd.server#critical] error answering 02:00:00:00:00:01
\tTraceback (most recent call last):
\t  File "x.py", line 1, in f
\tValueError: bad value 12
2026-12-01T18:00:04+0000 [apidhcpd.server#critical] error answering 02:00:00:00:00:02
\tTraceback (most recent call last):
\t  File "x.py", line 1, in f
\tValueError: bad value 13
"""


class Log(unittest.TestCase):
    def test_tracebacks_are_grouped_by_their_last_line(self):
        found = fuzz.analyse_log(LOG)
        self.assertEqual(found["tracebacks"], 2)
        self.assertEqual(found["distinct_tracebacks"], {"ValueError: bad value N": 2})
        self.assertEqual((found["levels"]["info"], found["levels"]["warn"],
                          found["levels"]["critical"]), (1, 2, 2))
        self.assertIn("warn: could not send to <ip>: [Errno N] x", found["top_messages"])

    def test_a_clean_log_has_no_tracebacks(self):
        self.assertEqual(fuzz.analyse_log(LOG.split("\t")[0])["tracebacks"], 0)


class PoolTime(unittest.TestCase):
    STATS = ("# Commandstats\r\n"
             "cmdstat_evalsha:calls=3,usec=300,usec_per_call=100.00,rejected_calls=0,"
             "failed_calls=0\r\n"
             "cmdstat_hget:calls=9,usec=20,usec_per_call=2.22,rejected_calls=0,failed_calls=0\r\n"
             "cmdstat_info:calls=4,usec=80,usec_per_call=20.00,rejected_calls=0,"
             "failed_calls=0\r\n")

    def test_commandstats(self):
        self.assertEqual(pooltime.commandstats(self.STATS),
                         {"evalsha": (3, 300), "hget": (9, 20), "info": (4, 80)})

    def test_a_scripts_time_is_not_counted_twice(self):
        before = pooltime.commandstats(self.STATS)
        after = dict(before, evalsha=(4, 1300), hget=(5009, 520), info=(5, 100))
        self.assertEqual(pooltime.redis_time(before, after), 1000)

    def test_plain_commands_count_when_no_script_ran(self):
        before = pooltime.commandstats(self.STATS)
        after = dict(before, hget=(10, 27), zadd=(1, 5), info=(5, 100))
        self.assertEqual(pooltime.redis_time(before, after), 12)

    def test_percentile_and_summary(self):
        values = list(range(1, 101))
        self.assertEqual(pooltime.percentile(values, 99), 99)
        self.assertEqual(pooltime.percentile(values, 50), 50)
        self.assertEqual(pooltime.summary([5, 1, 9]), {"median": 5, "p99": 9, "max": 9})

    def test_the_pool_is_the_benchmarking_range(self):
        self.assertEqual((pooltime.address(0), pooltime.address(65535)),
                         ("198.18.0.0", "198.18.255.255"))


if __name__ == "__main__":
    unittest.main()
