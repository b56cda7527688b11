"""A hostile LAN against a live apidhcpd (issue 10): a bounded fuzz run with probes.

    sudo .venv/bin/python bench/fuzz.py                       # 1,000,000 packets at 2,000/s
    sudo .venv/bin/python bench/fuzz.py --count 20000 --rate 2000 --seed 7 --json out.json

Builds a throwaway LAN in network namespaces (tests/integration/netns.py: a server namespace
with 192.0.2.1/24 and a client namespace with 192.0.2.2/24 on one bridge; the client namespace
is also a relay for 198.51.100.0/24 at 198.51.100.2, routed from the server's), a private
redis-server (tests/redisserver.py) seeded with a small inventory, and `twistd -n apidhcpd
--quiet` in the server namespace. From the client namespace it sends a seeded, repeatable mix
of hostile datagrams to port 67, to the server's address and to broadcast, from port 68 (a
client) or 67 (a relay):

- `random`: random bytes, 0-1500 of them; `random-cookie`: random bytes with the magic cookie;
- `bitflip`: a valid DISCOVER/REQUEST/DECLINE/RELEASE/INFORM (apidhcpd's own codec) with 1-8
  bits flipped;
- `options`: a valid header with option-level mutations (random codes, lengths 0/1/255,
  truncated TLVs, huge 61/12/82, overload 52, repeated options, RFC 3396 long options, no END);
- `relay82`: a valid message with a forged option 82 (circuit/remote id, link selection, server
  id override, relay source port, junk sub-options), with and without giaddr (the relay's,
  ours, broadcast, loopback, multicast, another subnet's, random);
- `fields`: random op/htype/hlen/hops/flags/ciaddr/chaddr around a valid message type.

Every `--probe-every` packets (10,000) a valid DISCOVER from a reserved host (RESERVED_MAC) is
broadcast; its OFFER must come back within `--probe-wait` seconds. A dynamic client's DISCOVER
relayed from 198.51.100.2 (a `subnet:` with its own range) is sent with it and reported apart:
the fuzz may fill that pool, so it is informational. At the end: packets sent and the rate
achieved, probes answered, the server's RSS before/after/peak, Redis DBSIZE before/after, the
log's size (with twistd's rotated files) and its distinct tracebacks (which must be 0), the
server's ARP table, whether the server is still alive; the exit status is 0 only when every
probe was answered, no traceback was logged and the server lives. `--mix` narrows the mix to
some generators, to see which one does what.

Everything it creates (namespaces, processes, temp dirs) is removed at the end, on errors, on
Ctrl-C and on SIGTERM. Only documentation addresses are put on interfaces; the LAN has no link
to the root namespace, so whatever the server answers (to a forged giaddr, say) stays inside.
Needs root. The method and the figures are in docs/performance.md ("Hostile LAN").
"""

import argparse
import collections
import contextlib
import ctypes
import errno
import json
import os
import random
import re
import select
import signal
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
for path in (REPO, HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

from apidhcpd.dhcp4 import codec  # noqa: E402
from apidhcpd.dhcp4.message import Message  # noqa: E402

SERVER_IP = "192.0.2.1"
CLIENT_IP = "192.0.2.2"       # the client namespace: sends as a client and as a relay
RESERVED_MAC = "02:00:5e:10:00:01"
RESERVED_IP = "192.0.2.10"
DYNAMIC_MAC = "02:00:5e:10:00:02"
RELAYED_NET = "198.51.100.0/24"
RELAY_IP = "198.51.100.2"     # the client namespace's relay address (giaddr of the probe)
DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM = range(1, 9)
CLIENT_TYPES = (DISCOVER, REQUEST, DECLINE, RELEASE, INFORM)
PROBE_XID = 0x7E000000        # probes' xids: PROBE_XID | n (fuzz xids avoid this prefix)

# what the generators pick addresses from: ours, the pool's, the relayed net's, odd ones
ADDRESSES = ("0.0.0.0", SERVER_IP, CLIENT_IP, RESERVED_IP, "192.0.2.100", "192.0.2.150",
             "192.0.2.250", "192.0.2.255", "198.51.100.1", "198.51.100.10", "198.51.100.77",
             "203.0.113.9", "127.0.0.1", "255.255.255.255", "224.0.0.1", "8.8.8.8")
GIADDRS = (CLIENT_IP, SERVER_IP, "255.255.255.255", "127.0.0.1", "224.0.0.1", "0.0.0.0",
           "198.51.100.1", "198.51.100.77", "192.0.2.255", "203.0.113.1")

# the inventory: tests/integration/apidhcpd.py's INVENTORY plus these
EXTRA_INVENTORY = [
    ("mac:" + RESERVED_MAC, {"ip": RESERVED_IP, "hostname": "probe"}),
    ("subnet:" + RELAYED_NET, {"gateway": "198.51.100.1", "prefix": "24",
                               "dns": "198.51.100.53", "lease-time": "10m",
                               "range": "198.51.100.10-198.51.100.200"}),
]

# weights of the generators in the mix
MIX = (("random", 10), ("random-cookie", 10), ("bitflip", 25), ("options", 25),
       ("relay82", 20), ("fields", 10))


# ---------------------------------------------------------------- packets (pure)

def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def flip_bits(data, positions):
    """data with the bits at `positions` (bit i = byte i // 8, bit 7 - i % 8) inverted."""
    out = bytearray(data)
    for p in positions:
        out[p // 8] ^= 0x80 >> (p % 8)
    return bytes(out)


def tlv(code, value):
    """One option as code, length, value; a value over 255 bytes is split (RFC 3396)."""
    if not value:
        return bytes((code, 0))
    return b"".join(bytes((code, len(value[i:i + 255]))) + value[i:i + 255]
                    for i in range(0, len(value), 255))


def split_long(code, value, rng):
    """A value cut into several instances at random points (RFC 3396 concatenation)."""
    cuts = sorted(rng.sample(range(1, len(value)), min(len(value) - 1, rng.randint(1, 4)))) \
        if len(value) > 1 else []
    parts, start = [], 0
    for cut in cuts + [len(value)]:
        parts.append(tlv(code, value[start:cut]))
        start = cut
    return b"".join(parts)


def relay_suboptions(subs):
    """Option 82's value from [(subcode, bytes)] (each sub-option's length byte is len % 256:
    a sub-option over 255 bytes has a lying length, as a forger would send)."""
    return b"".join(bytes((code, len(data) & 0xFF)) + data for code, data in subs)


class Fuzzer:
    """The seeded generators. Each returns (kind, datagram, source port, destination)."""

    def __init__(self, seed, macs=256, mix=MIX):
        self.rng = random.Random(seed)
        # half the packets come from a few hundred MACs (their state builds up), half are new
        self.macs = [self.random_mac() for _ in range(macs)]
        self.kinds = [k for k, _ in mix]
        self.weights = [w for _, w in mix]
        self.counts = collections.Counter()

    # -- building blocks
    def random_mac(self):
        b = bytearray(self.rng.getrandbits(48).to_bytes(6, "big"))
        b[0] = (b[0] & 0xFC) | 0x02
        return bytes(b)

    def mac(self):
        return self.rng.choice(self.macs) if self.rng.random() < 0.5 else self.random_mac()

    def address(self):
        r = self.rng.random()
        if r < 0.7:
            return self.rng.choice(ADDRESSES)
        if r < 0.9:
            return "192.0.2.%d" % self.rng.randint(0, 255)
        return socket.inet_ntoa(self.rng.getrandbits(32).to_bytes(4, "big"))

    def xid(self):
        while True:
            x = self.rng.getrandbits(32)
            if x & 0xFF000000 != PROBE_XID:
                return x

    def valid_message(self, mtype=None):
        """A well-formed client message of a type a server acts on (or `mtype`)."""
        rng = self.rng
        mtype = mtype or rng.choice(CLIENT_TYPES)
        msg = Message(op=1, htype=1, hlen=6, xid=self.xid(), chaddr=self.mac(),
                      flags=0x8000 if rng.random() < 0.5 else 0)
        msg.options[53] = bytes((mtype,))
        if rng.random() < 0.3:
            msg.options[61] = b"\x01" + msg.chaddr[:6]
        if rng.random() < 0.3:
            msg.options[12] = ("host-%d" % rng.randint(0, 9999)).encode()
        if mtype in (DISCOVER, REQUEST, INFORM):
            msg.options[55] = bytes(rng.sample(range(1, 120), rng.randint(1, 12)))
        if mtype in (DISCOVER, REQUEST, DECLINE) and rng.random() < 0.8:
            msg.options[50] = socket.inet_aton(self.address())
        if mtype in (REQUEST, DECLINE, RELEASE) and rng.random() < 0.7:
            msg.options[54] = socket.inet_aton(SERVER_IP if rng.random() < 0.7
                                               else self.address())
        if mtype in (RELEASE, INFORM) or (mtype == REQUEST and rng.random() < 0.3):
            msg.ciaddr = self.address()
        if rng.random() < 0.2:
            msg.options[57] = struct.pack("!H", rng.choice((0, 1, 300, 576, 1500, 65535)))
        return msg

    def dest(self):
        return SERVER_IP if self.rng.random() < 0.5 else "255.255.255.255"

    # -- generators
    def gen_random(self):
        n = self.rng.randint(0, 1500)
        return self.rng.randbytes(n), self.rng.choice((67, 68))

    def gen_random_cookie(self):
        n = self.rng.randint(240, 1500)
        data = bytearray(self.rng.randbytes(n))
        data[236:240] = codec.MAGIC_COOKIE
        if self.rng.random() < 0.5:
            data[0], data[2] = 1, self.rng.randint(0, 16)  # BOOTREQUEST, a plausible hlen
        return bytes(data), self.rng.choice((67, 68))

    def gen_bitflip(self):
        data = codec.encode(self.valid_message())
        n = self.rng.randint(1, 8)
        return flip_bits(data, self.rng.sample(range(len(data) * 8), n)), 68

    def gen_options(self):
        """A valid header and a mutated option area (1-3 mutations)."""
        msg = self.valid_message()
        items = [(code, value) for code, value in msg.options.items()]
        msg.options = {}
        head = bytearray(codec.encode(msg)[:codec.HEADER_SIZE])
        body = [tlv(code, value) for code, value in items]
        end = True
        for name in self.rng.sample(OPTION_MUTATIONS, self.rng.randint(1, 3)):
            end = getattr(self, "mut_" + name)(head, body, items) and end
        data = bytes(head) + b"".join(body) + (b"\xff" if end else b"")
        return data, 68

    def gen_relay82(self):
        """A valid message with a forged option 82, relayed (giaddr) or not."""
        rng = self.rng
        msg = self.valid_message()
        subs = []
        for code in rng.sample((1, 2, 5, 11, 19, 0, 3, 9, 151, 255), rng.randint(1, 5)):
            if code in (1, 2):  # circuit-id, remote-id
                n = rng.choice((0, 1, 4, 16, 64, 255, rng.randint(0, 255)))
                subs.append((code, rng.randbytes(n) if rng.random() < 0.5
                             else ("port-%d" % rng.randint(0, 99)).encode()[:n]))
            elif code in (5, 11):  # link selection, server id override
                value = socket.inet_aton(self.address())
                if rng.random() < 0.1:
                    value = value[:rng.randint(0, 3)]
                subs.append((code, value))
            elif code == 19:  # RFC 8357 relay source port (empty from a relay)
                subs.append((code, b"" if rng.random() < 0.8 else rng.randbytes(2)))
            else:
                subs.append((code, rng.randbytes(rng.randint(0, 40))))
        value = relay_suboptions(subs)
        if rng.random() < 0.1 and value:  # a huge 82 (RFC 3396 split by the codec), maybe cut
            value = (value * (6000 // len(value) + 1))[:rng.randint(256, 6000)]
        msg.options[82] = value
        sport = 68
        if rng.random() < 0.7:
            msg.giaddr = rng.choice(GIADDRS) if rng.random() < 0.8 else self.address()
            msg.hops = rng.choice((0, 1, 1, 1, 16, 255))
            sport = 67 if rng.random() < 0.9 else 68
        return codec.encode(msg, max_size=rng.choice((576, 1500, 9000))), sport

    def gen_fields(self):
        rng = self.rng
        msg = self.valid_message()
        msg.op = rng.choice((0, 1, 1, 2, 3, 255))
        msg.htype = rng.choice((0, 1, 1, 6, 32, 255))
        msg.hlen = rng.choice((0, 1, 6, 6, 8, 16, rng.randint(0, 255)))
        msg.hops = rng.randint(0, 255)
        msg.flags = rng.getrandbits(16)
        msg.secs = rng.getrandbits(16)
        chaddr = rng.choice((b"\xff" * 6, b"\x01\x00\x5e\x00\x00\x01", b"\x00" * 6,
                             b"\x33\x33\x00\x00\x00\x01", rng.randbytes(16), self.mac()))
        msg.chaddr = chaddr.ljust(16, b"\0")
        for name in ("ciaddr", "yiaddr", "siaddr"):
            if rng.random() < 0.3:
                setattr(msg, name, self.address())
        if rng.random() < 0.5:
            msg.sname = rng.randbytes(64)
            msg.file = rng.randbytes(128)
        return codec.encode(msg), 68

    # -- option mutations: each edits head (bytearray) / body (list of TLV bytes) in place;
    # returns False when the area must end without END
    def mut_random_option(self, head, body, items):
        for _ in range(self.rng.randint(1, 5)):
            code = self.rng.randint(1, 254)
            body.insert(self.rng.randint(0, len(body)),
                        tlv(code, self.rng.randbytes(self.rng.randint(0, 255))))
        return True

    def mut_bad_length(self, head, body, items):
        """An option whose length byte says 0, 1 or 255 whatever its value is."""
        i = self.rng.randrange(len(body))
        part = bytearray(body[i])
        if len(part) >= 2:
            part[1] = self.rng.choice((0, 1, 255))
        body[i] = bytes(part)
        return True

    def mut_empty(self, head, body, items):
        """Options present with a zero-length value (53, 50, 54, 61, 55, 82, 57, 52)."""
        for code in self.rng.sample((53, 50, 54, 61, 55, 82, 57, 52, 12, 118),
                                    self.rng.randint(1, 3)):
            body.insert(self.rng.randint(0, len(body)), bytes((code, 0)))
        return True

    def mut_truncated(self, head, body, items):
        """The area ends inside a TLV (after its code, or inside its value), without END."""
        area = b"".join(body)
        spans, i = [], 0
        while i < len(area):  # the TLVs as far as they are well formed
            if area[i] == 0:
                i += 1
                continue
            if i + 1 >= len(area) or i + 2 + area[i + 1] > len(area):
                break
            spans.append((i, i + 2 + area[i + 1]))
            i = spans[-1][1]
        if spans:
            start, end = self.rng.choice(spans)
            body[:] = [area[:self.rng.randint(start + 1, end - 1)]]
        else:
            body[:] = [area[:self.rng.randint(0, len(area))]]
        return False

    def mut_huge(self, head, body, items):
        """Option 61, 12 or 82 of 256-2000 bytes in several instances (RFC 3396)."""
        code = self.rng.choice((61, 12, 82))
        body.append(tlv(code, self.rng.randbytes(self.rng.randint(256, 2000))))
        return True

    def mut_overload(self, head, body, items):
        """Option 52 (1, 2, 3 or a bad value) with option TLVs, or garbage, in file/sname."""
        value = self.rng.choice((b"\x01", b"\x02", b"\x03", b"\x00", b"\x04", b"\x01\x02"))
        body.insert(0, tlv(52, value))
        for start, size in ((108, 128), (44, 64)):  # file, sname in the BOOTP header
            if self.rng.random() < 0.5:
                field = (tlv(53, bytes((self.rng.choice(CLIENT_TYPES),))) +
                         tlv(self.rng.randint(1, 254), self.rng.randbytes(20)) + b"\xff")
            else:
                field = self.rng.randbytes(size)
            head[start:start + size] = field[:size].ljust(size, b"\0")
        return True

    def mut_repeat(self, head, body, items):
        """An option sent 2-5 times (the codec concatenates the instances)."""
        i = self.rng.randrange(len(body))
        body[i:i + 1] = [body[i]] * self.rng.randint(2, 5)
        return True

    def mut_long_option(self, head, body, items):
        """55/60/43/81/119/121 split over several instances (RFC 3396)."""
        code = self.rng.choice((55, 60, 43, 81, 119, 121, 125))
        value = self.rng.randbytes(self.rng.randint(2, 600))
        body.append(split_long(code, value, self.rng))
        return True

    def mut_no_end(self, head, body, items):
        return False

    def mut_pads(self, head, body, items):
        body.insert(self.rng.randint(0, len(body)), b"\0" * self.rng.randint(1, 1000))
        return True

    def mut_message_type(self, head, body, items):
        """Option 53 of length 0 or 2, or of a type outside 1-8, possibly twice."""
        value = self.rng.choice((b"", b"\x01\x03", bytes((self.rng.randint(9, 255),)),
                                 b"\x00"))
        body[:] = [p for p in body if p[:1] != b"\x35"]
        body.insert(0, tlv(53, value))
        if self.rng.random() < 0.3:
            body.insert(1, tlv(53, bytes((self.rng.choice(CLIENT_TYPES),))))
        return True

    # -- the mix
    def packet(self):
        kind = self.rng.choices(self.kinds, self.weights)[0]
        data, sport = getattr(self, "gen_" + kind.replace("-", "_"))()
        self.counts[kind] += 1
        return kind, data, sport, self.dest()

    def batch(self, n):
        return [self.packet() for _ in range(n)]


def parse_mix(text):
    """"bitflip=3,relay82=1" -> (("bitflip", 3), ("relay82", 1)); the kinds are MIX's."""
    mix = []
    for part in filter(None, text.split(",")):
        kind, _, weight = part.partition("=")
        if kind not in dict(MIX):
            raise ValueError("unknown kind %r (known: %s)" % (kind, ", ".join(dict(MIX))))
        mix.append((kind, float(weight or 1)))
    if not mix:
        raise ValueError("an empty mix")
    return tuple(mix)


OPTION_MUTATIONS = ("random_option", "bad_length", "empty", "truncated", "huge", "overload",
                    "repeat", "long_option", "no_end", "pads", "message_type")


def probe_packet(n, mac=RESERVED_MAC, giaddr="0.0.0.0"):
    """The valid DISCOVER of probe number n (broadcast flag, a usual parameter list)."""
    msg = Message(op=1, htype=1, hlen=6, xid=PROBE_XID | n, chaddr=mac_bytes(mac),
                  flags=0x8000, giaddr=giaddr, hops=1 if giaddr != "0.0.0.0" else 0)
    msg.options[53] = bytes((DISCOVER,))
    msg.options[55] = bytes((1, 3, 6, 12, 15, 28, 51, 54))
    return codec.encode(msg)


# ---------------------------------------------------------------- the server's log (pure)

_RECORD = re.compile(r"^\S+ \[([^\]#]*)#?(\w*)\] ?(.*)$")


def generic(text):
    """A log line with its addresses, MACs, ids and numbers made generic."""
    text = re.sub(r"\b[0-9a-f]{2}(:[0-9a-f]{2}){3,}\b", "<mac>", text)
    text = re.sub(r"\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b", "<ip>", text)
    text = re.sub(r"\b(0x)?[0-9a-f]{8,}\b", "<hex>", text)
    text = re.sub(r"\d+", "N", text)
    return text[:200]


def analyse_log(text):
    """Records by level, the distinct tracebacks (grouped by their last line, made generic)
    and the distinct warning/error messages of a twistd log."""
    records = []
    for line in text.splitlines():
        if line.startswith("\t") and records:
            records[-1][1].append(line[1:])
            continue
        m = _RECORD.match(line)
        records.append((m.groups() if m else ("", "", line), []))
    levels = collections.Counter()
    tracebacks = collections.Counter()
    messages = collections.Counter()
    for (_namespace, level, first), rest in records:
        levels[level or "?"] += 1
        lines = [first] + rest
        if any(line.startswith("Traceback (most recent call last)") for line in lines):
            last = next((line for line in reversed(lines) if line.strip()), "")
            tracebacks[generic(last.strip())] += 1
        if level in ("warn", "error", "critical"):
            messages["%s: %s" % (level, generic(first))] += 1
    return {"records": len(records), "levels": dict(levels),
            "tracebacks": sum(tracebacks.values()),
            "distinct_tracebacks": dict(tracebacks.most_common()),
            "top_messages": dict(messages.most_common(12))}


# ---------------------------------------------------------------- the live run

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


@contextlib.contextmanager
def in_netns(name):
    """Run the block in network namespace `name` (sockets made there stay there)."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open("/run/netns/" + name, os.O_RDONLY)
    try:
        if _libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns(%s) failed" % name)
        try:
            yield
        finally:
            if _libc.setns(own, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "could not return to our namespace")
    finally:
        os.close(own)
        os.close(target)


def udp_socket(port, iface="eth0"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
    try:
        s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE: we read in bursts
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind(("0.0.0.0", port))
    s.setblocking(False)
    return s


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Run:
    """One fuzz run: the sockets in the client namespace, the probes, the samples."""

    def __init__(self, args, server_pid):
        self.args = args
        self.pid = server_pid
        self.fuzzer = Fuzzer(args.seed, mix=args.mix)
        self.sent = collections.Counter()       # by kind
        self.sent_bytes = 0
        self.send_errors = collections.Counter()
        self.replies = collections.Counter()    # (socket port, message type name)
        self.reply_bytes = 0
        self.max_reply = 0
        self.others = 0                         # datagrams from elsewhere (our broadcasts)
        self.probes = {}                        # xid -> record
        self.rss = []                           # (t, kB)
        self.socks = {}

    def open(self, ns):
        with in_netns(ns):
            self.socks = {68: udp_socket(68), 67: udp_socket(67)}

    def close(self):
        for s in self.socks.values():
            s.close()

    # -- probes
    def send_probe(self, n, final=False):
        now = time.monotonic()
        for kind, sock, data in (
                ("reserved", 68, probe_packet(n)),
                ("dynamic", 67, probe_packet(n, DYNAMIC_MAC, giaddr=RELAY_IP))):
            dest = "255.255.255.255" if kind == "reserved" else SERVER_IP
            xid = PROBE_XID | n
            key = (xid, kind)
            self.probes[key] = {"n": n, "kind": kind, "final": final, "sent": now,
                                "answer": None, "delay": None}
            self._send(self.socks[sock], data, dest)

    def _probe_reply(self, port, msg):
        kind = "reserved" if port == 68 else "dynamic"
        record = self.probes.get((msg.xid, kind))
        if record is None or record["answer"] is not None:
            return
        if msg.message_type == OFFER:
            record["answer"] = msg.yiaddr
            record["delay"] = time.monotonic() - record["sent"]

    # -- sockets
    def _send(self, sock, data, dest):
        try:
            sock.sendto(data, (dest, 67))
            self.sent_bytes += len(data)
            return True
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.ENOBUFS):
                select.select([], [sock], [], 0.05)
                try:
                    sock.sendto(data, (dest, 67))
                    self.sent_bytes += len(data)
                    return True
                except OSError as again:
                    e = again
            self.send_errors[errno.errorcode.get(e.errno, str(e.errno))] += 1
            return False

    def drain(self):
        for port, sock in self.socks.items():
            for _ in range(10000):
                try:
                    data, source = sock.recvfrom(65535)
                except BlockingIOError:
                    break
                if source[0] != SERVER_IP:  # our own broadcasts, looped back to us
                    self.others += 1
                    continue
                self.reply_bytes += len(data)
                self.max_reply = max(self.max_reply, len(data))
                try:
                    msg = codec.decode(data)
                except codec.CodecError:
                    self.replies[(port, "undecodable")] += 1
                    continue
                if msg.op != 2:  # our own broadcast requests come back to us: not replies
                    continue
                name = {OFFER: "OFFER", ACK: "ACK", NAK: "NAK"}.get(msg.message_type, "other")
                self.replies[(port, name)] += 1
                if msg.xid & 0xFF000000 == PROBE_XID:
                    self._probe_reply(port, msg)

    def sample(self):
        kb = rss_kb(self.pid)
        if kb is not None:
            self.rss.append((time.monotonic(), kb))

    def wait(self, seconds):
        """Drain and sample for `seconds`."""
        end = time.monotonic() + seconds
        last = 0
        while time.monotonic() < end:
            self.drain()
            if time.monotonic() - last >= 1:
                self.sample()
                last = time.monotonic()
            time.sleep(0.01)

    # -- the blast
    def blast(self):
        args = self.args
        start = time.monotonic()
        deadline = start + args.max_seconds
        batch = []
        total = 0
        probe_n = 0
        last_sample = last_report = 0
        while total < args.count and time.monotonic() < deadline:
            if not batch:
                batch = self.fuzzer.batch(min(args.batch, args.count - total))
                batch.reverse()
            now = time.monotonic()
            if now - last_sample >= 1:  # also when the sender lags behind the rate
                self.sample()
                last_sample = now
            if args.progress and now - last_report >= args.progress:
                last_report = now
                self.progress(total, now - start)
            due = int((now - start) * args.rate) - total
            if due <= 0:
                self.drain()
                time.sleep(min(0.002, (total + 1 - (now - start) * args.rate) / args.rate))
                continue
            for _ in range(min(due, 256, len(batch))):
                kind, data, sport, dest = batch.pop()
                self._send(self.socks[sport], data, dest)
                self.sent[kind] += 1
                total += 1
                if total % args.probe_every == 0:
                    probe_n += 1
                    self.send_probe(probe_n)
            self.drain()
        elapsed = time.monotonic() - start
        return total, elapsed, probe_n

    def progress(self, total, elapsed):
        answered = sum(1 for p in self.probes.values()
                       if p["kind"] == "reserved" and p["answer"])
        asked = sum(1 for p in self.probes.values() if p["kind"] == "reserved")
        kb = self.rss[-1][1] if self.rss else 0
        print("fuzz: %8d sent in %6.1fs (%6.0f/s)  probes %d/%d  server RSS %.1f MB"
              % (total, elapsed, total / max(elapsed, 1e-9), answered, asked, kb / 1024),
              flush=True)


def probe_summary(probes, kind, final=None):
    chosen = [p for p in probes.values() if p["kind"] == kind
              and (final is None or p["final"] == final)]
    answered = [p for p in chosen if p["answer"]]
    delays = sorted(p["delay"] for p in answered)
    return {"sent": len(chosen), "answered": len(answered),
            "unanswered": [p["n"] for p in chosen if not p["answer"]][:50],
            "max_delay_ms": round(delays[-1] * 1000, 1) if delays else None,
            "addresses": sorted({p["answer"] for p in answered})[:10]}


def metrics_lines(host):
    """The server's packet counters from /metrics (its API, on loopback in its namespace)."""
    code = ("import urllib.request,sys;sys.stdout.write(urllib.request.urlopen("
            "'http://127.0.0.1:8080/metrics',timeout=5).read().decode())")
    try:
        out = host.run([sys.executable, "-c", code], check=False, timeout=20).stdout
    except Exception as e:  # a dead or stuck server: say so, go on
        return ["(no /metrics: %s)" % e]
    return [line for line in out.splitlines()
            if line.startswith(("apidhcpd_packets", "apidhcpd_naks"))]


def log_files(path):
    """The log and the files twistd rotated it into (path.1 is the newest), oldest first."""
    rotated = []
    for name in os.listdir(os.path.dirname(path)):
        suffix = name[len(os.path.basename(path)) + 1:]
        if name.startswith(os.path.basename(path) + ".") and suffix.isdigit():
            rotated.append((int(suffix), os.path.join(os.path.dirname(path), name)))
    return [p for _, p in sorted(rotated, reverse=True)] + [path]


def read_log(path):
    """(total bytes, number of files, the whole text) of a twistd log and its rotations."""
    files = [p for p in log_files(path) if os.path.exists(p)]
    parts = []
    for p in files:
        with open(p, errors="replace") as f:
            parts.append(f.read())
    return sum(map(len, parts)), len(files), "".join(parts)


def redis_figures(redis):
    info = redis.cli("INFO", "memory")
    used = re.search(r"used_memory:(\d+)", info)
    return {"dbsize": int(redis.cli("DBSIZE").strip()),
            "used_memory_mb": round(int(used.group(1)) / 2**20, 1) if used else None}


def key_prefixes(redis, limit=200000):
    """Keys by prefix (up to `limit` keys, by SCAN)."""
    counts = collections.Counter()
    cursor, seen = "0", 0
    while True:
        out = redis.cli("SCAN", cursor, "COUNT", "5000").split("\n")
        cursor, keys = out[0].strip(), [k for k in out[1:] if k]
        for k in keys:
            counts[k.split(":", 1)[0] + (":" if ":" in k else "")] += 1
        seen += len(keys)
        if cursor == "0" or seen >= limit:
            break
    return dict(counts.most_common())


LEASE_STATES = """local counts = {}
for _, key in ipairs(redis.call('KEYS', 'lease:*')) do
  local state = redis.call('HGET', key, 'state') or '?'
  counts[state] = (counts[state] or 0) + 1
end
local out = {}
for state, n in pairs(counts) do out[#out + 1] = state .. '=' .. n end
return out"""


def lease_states(redis):
    """{state: count} of the lease: records (a test Redis: KEYS is fine here)."""
    out = redis.cli("EVAL", LEASE_STATES, "0").split()
    return {k: int(v) for k, _, v in (item.partition("=") for item in out)}


def arp_entries(host):
    from tests.integration.netns import IP
    out = host.run([IP, "-4", "neigh", "show", "dev", host.iface], check=False).stdout
    return sum(1 for line in out.splitlines() if line.strip())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000, help="packets to send")
    parser.add_argument("--rate", type=float, default=2000, help="packets per second")
    parser.add_argument("--seed", type=int, default=1, help="the generators' seed")
    parser.add_argument("--mix", type=parse_mix, default=MIX,
                        help="generators and weights, e.g. relay82=1,bitflip=2 (default %s)"
                        % ",".join("%s=%d" % kv for kv in MIX))
    parser.add_argument("--probe-every", type=int, default=10_000)
    parser.add_argument("--probe-wait", type=float, default=2.0,
                        help="seconds a probe's OFFER may take")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="bound on the sending (default 1.5 x count/rate + 30)")
    parser.add_argument("--settle", type=float, default=5.0,
                        help="seconds to wait after the blast before the final figures")
    parser.add_argument("--batch", type=int, default=2000, help="packets generated at once")
    parser.add_argument("--progress", type=float, default=30, help="seconds between lines")
    parser.add_argument("--server-args", default="",
                        help="extra twistd apidhcpd options (one string, split on spaces)")
    parser.add_argument("--keep-log", help="copy the server's log here")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    if args.max_seconds is None:
        args.max_seconds = 1.5 * args.count / args.rate + 30
    if os.geteuid() != 0:
        sys.exit("fuzz.py needs root (network namespaces, port 67)")

    from tests.integration.apidhcpd import INVENTORY, ServerProcess, seed
    from tests.integration.netns import IP, Lan
    from tests.redisserver import RedisServer

    def on_signal(signum, frame):
        raise SystemExit(128 + signum)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    redis = RedisServer()
    lan = None
    run = None
    result = {"settings": dict(vars(args)),
              "commit": _commit()}
    try:
        redis.start()
        seed(redis, INVENTORY + EXTRA_INVENTORY)
        lan = Lan()
        srv = lan.add_host("srv", SERVER_IP + "/24")
        cli = lan.add_host("cli", CLIENT_IP + "/24")
        # the client namespace is also a relay for 198.51.100.0/24 (the dynamic probe's)
        cli.add_address(RELAY_IP + "/24")
        srv.run([IP, "route", "add", RELAYED_NET, "via", CLIENT_IP])
        server = ServerProcess(srv, redis.unix_url, "--quiet", *args.server_args.split())
        pid = server.proc.pid
        run = Run(args, pid)
        run.open(cli.ns)

        # before: a first probe must be answered, or the rig is wrong
        run.send_probe(0, final=True)
        run.wait(args.probe_wait)
        if not run.probes[(PROBE_XID, "reserved")]["answer"]:
            raise SystemExit("the server did not answer the first probe:\n" + server.log()[-3000:])
        run.wait(1)
        before = {"rss_kb": rss_kb(pid), "cpu_s": cpu_seconds(pid),
                  "log_bytes": read_log(server.log_path)[0],
                  "arp_entries": arp_entries(srv), **redis_figures(redis)}
        print("fuzz: server pid %d, RSS %.1f MB, Redis %d keys; sending %d packets at %g/s "
              "(seed %d, bound %.0fs)" % (pid, before["rss_kb"] / 1024, before["dbsize"],
                                          args.count, args.rate, args.seed, args.max_seconds),
              flush=True)

        total, elapsed, probes = run.blast()
        run.wait(args.probe_wait)  # the last probes' answers
        blast_cpu = cpu_seconds(pid)
        run.wait(args.settle)
        for n in range(3):  # after the storm: is it still serving?
            run.send_probe(probes + 1 + n, final=True)
            run.wait(max(args.probe_wait, 1.0))
        log_bytes, log_count, log_text = read_log(server.log_path)
        after = {"rss_kb": rss_kb(pid), "cpu_s": cpu_seconds(pid), "log_bytes": log_bytes,
                 "arp_entries": arp_entries(srv), **redis_figures(redis)}
        alive = server.alive()
        result.update({
            "packets_sent": total,
            "sent_by_kind": dict(run.sent),
            "bytes_sent": run.sent_bytes,
            "send_errors": dict(run.send_errors),
            "seconds": round(elapsed, 1),
            "achieved_rate": round(total / elapsed, 1) if elapsed else None,
            "server_cpu_percent": round(100 * (blast_cpu - before["cpu_s"]) / elapsed, 1)
            if blast_cpu is not None and elapsed else None,
            "probes": probe_summary(run.probes, "reserved", final=False),
            "final_probes": probe_summary(run.probes, "reserved", final=True),
            "dynamic_probes": probe_summary(run.probes, "dynamic"),
            "replies": {"%d/%s" % k: v for k, v in sorted(run.replies.items())},
            "reply_bytes": run.reply_bytes,
            "max_reply_bytes": run.max_reply,
            "rss_mb": {"before": round(before["rss_kb"] / 1024, 1),
                       "after": round(after["rss_kb"] / 1024, 1) if after["rss_kb"] else None,
                       "peak": round(max(kb for _, kb in run.rss) / 1024, 1)
                       if run.rss else None},
            "rss_curve_mb": _curve(run.rss),
            "redis": {"dbsize_before": before["dbsize"], "dbsize_after": after["dbsize"],
                      "used_memory_mb_before": before["used_memory_mb"],
                      "used_memory_mb_after": after["used_memory_mb"],
                      "keys_by_prefix_after": key_prefixes(redis),
                      "lease_states_after": lease_states(redis)},
            "log": {"bytes_before": before["log_bytes"], "bytes_after": after["log_bytes"],
                    "files": log_count, **analyse_log(log_text)},
            "arp_entries": {"before": before["arp_entries"], "after": after["arp_entries"]},
            "server_alive": alive,
            "metrics": metrics_lines(srv) if alive else [],
        })
        if args.keep_log:
            with open(args.keep_log, "w") as f:
                f.write(log_text)
    finally:
        if run is not None:
            run.close()
        if lan is not None:
            lan.teardown()
        redis.stop()
    report(result)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    ok = (result["probes"]["answered"] == result["probes"]["sent"]
          and result["final_probes"]["answered"] == result["final_probes"]["sent"]
          and result["log"]["tracebacks"] == 0 and result["server_alive"])
    return 0 if ok else 1


def _curve(samples, points=12):
    """RSS at about `points` moments of the run, in MB."""
    if not samples:
        return []
    step = max(1, len(samples) // points)
    t0 = samples[0][0]
    picked = samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else [])
    return [[round(t - t0), round(kb / 1024, 1)] for t, kb in picked]


def _commit():
    try:
        import subprocess
        return subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        return None


def report(r):
    p, fp, dp = r["probes"], r["final_probes"], r["dynamic_probes"]
    print()
    print("packets sent        %d in %.1f s (%.0f/s achieved, %g/s asked), %d send errors %s"
          % (r["packets_sent"], r["seconds"], r["achieved_rate"] or 0,
             r["settings"]["rate"], sum(r["send_errors"].values()), r["send_errors"] or ""))
    print("  by kind           %s" % ", ".join("%s %d" % kv for kv in
                                               sorted(r["sent_by_kind"].items())))
    print("probes (reserved)   %d/%d answered during the run, %d/%d after it; max delay %s ms"
          % (p["answered"], p["sent"], fp["answered"], fp["sent"], p["max_delay_ms"]))
    print("probes (dynamic)    %d/%d answered (informational: the fuzz may fill the pool)"
          % (dp["answered"], dp["sent"]))
    print("server RSS          %s MB before, %s MB after, %s MB peak; CPU %s%% of a core"
          % (r["rss_mb"]["before"], r["rss_mb"]["after"], r["rss_mb"]["peak"],
             r["server_cpu_percent"]))
    print("Redis keys          %d before, %d after (%s MB -> %s MB)"
          % (r["redis"]["dbsize_before"], r["redis"]["dbsize_after"],
             r["redis"]["used_memory_mb_before"], r["redis"]["used_memory_mb_after"]))
    print("  after, by prefix  %s" % r["redis"]["keys_by_prefix_after"])
    print("  lease: by state   %s" % r["redis"].get("lease_states_after"))
    print("server log          %.1f MB -> %.1f MB (%d files: twistd rotates at 1 MB), "
          "%d records %s" % (r["log"]["bytes_before"] / 2**20, r["log"]["bytes_after"] / 2**20,
                             r["log"]["files"], r["log"]["records"], r["log"]["levels"]))
    print("tracebacks          %d (%d distinct)" % (r["log"]["tracebacks"],
                                                   len(r["log"]["distinct_tracebacks"])))
    for line, n in r["log"]["distinct_tracebacks"].items():
        print("  %6d  %s" % (n, line))
    for line, n in r["log"]["top_messages"].items():
        print("  log %6d  %s" % (n, line))
    print("replies seen        %s (%d bytes, largest %d)"
          % (r["replies"], r["reply_bytes"], r["max_reply_bytes"]))
    print("ARP entries (srv)   %d before, %d after" % (r["arp_entries"]["before"],
                                                      r["arp_entries"]["after"]))
    print("server alive        %s" % r["server_alive"])
    failed = [what for what, bad in (
        ("probes unanswered", p["answered"] < p["sent"] or fp["answered"] < fp["sent"]),
        ("tracebacks", r["log"]["tracebacks"] > 0),
        ("server dead", not r["server_alive"])) if bad]
    print("verdict             %s" % ("FAIL: " + ", ".join(failed) if failed else "pass"))


if __name__ == "__main__":
    sys.exit(main())
