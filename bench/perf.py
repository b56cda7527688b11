"""Kea's perfdhcp as the load generator: the command line, its report parsed, and one trial.

DHCPv4 (family 4): perfdhcp runs in the client namespace and acts as a DHCP relay: every packet
it sends carries giaddr = its own address (192.0.2.2) and goes to the server (192.0.2.1:67) by
unicast; the server answers the relay at 192.0.2.2:67.

DHCPv6 (family 6, `perfdhcp -6 -l eth0`): perfdhcp is the clients on the link: it sends each
SOLICIT and REQUEST from its address (2001:db8:1::2) port 546 to ff02::1:2 port 547, and the
server answers that address on port 546.

Either way the addresses leased are only values inside the packets: no interface ever gets one
and no packet is ever sent to one. The two halves of an exchange are "do" (DISCOVER-OFFER,
SOLICIT-ADVERTISE) and "ra" (REQUEST-ACK, REQUEST-REPLY) in the figures of both families;
FAMILIES names them for the output.
"""

import os
import re
import shutil
import time

from rig import IFACE, RELAY_IP, SERVER_IP, cpu_seconds, sh

PERFDHCP = shutil.which("perfdhcp") or "/usr/sbin/perfdhcp"
DROP_TIME = 1.0    # -d: a reply later than this counts as a drop (perfdhcp's default)
EXIT_WAIT = 1.0    # -W: after -p ends, wait this long for replies still in flight
MAX_DROPS = 1.0    # a rate "holds" when fewer than this % of exchanges fail
MIN_ATTAINED = 0.95  # ... and perfdhcp managed to send at least this share of the rate
MAX_AVG_DELAY = 100.0  # ... and the server kept up: mean DO and RA delays under this (ms).
# A server offered more than it can do queues the excess; the queue's delay grows until
# replies pass the 1 s drop time, which a trial of a few seconds may not reach yet. A mean
# delay of 100 ms (a tenth of the drop time) is already far past a server that keeps up.

# what the output calls an exchange and its two halves ("do" and "ra" in the figures)
FAMILIES = {4: {"exchange": "DORA", "do": "DO", "ra": "RA"},
            6: {"exchange": "SARR", "do": "SA", "ra": "RR"}}
_SECTIONS = {"DISCOVER-OFFER": "do", "REQUEST-ACK": "ra",
             "SOLICIT-ADVERTISE": "do", "REQUEST-REPLY": "ra"}
_COUNTS = ("sent packets", "received packets", "drops", "orphans", "rejected leases",
           "non unique addresses")
_DELAYS = ("min delay", "avg delay", "max delay", "std deviation")


class PerfdhcpError(Exception):
    pass


def _where(family):
    """perfdhcp's family flag, local side and server for either family."""
    if family == 6:
        # -l: the interface to send on (from its address, to ff02::1:2, "all")
        return ["-6", "-l", IFACE], "all"
    # -l: send from (and be the relay at) this address
    return ["-4", "-l", RELAY_IP], SERVER_IP


def command(rate, seconds, clients, seed=1, family=4):
    local, server = _where(family)
    return [PERFDHCP] + local + [
            "-r", str(rate),            # start this many DORA/SARR exchanges per second
            "-R", str(clients),         # ... from this many distinct clients (random MACs,
                                        #     DUIDs made from them for DHCPv6)
            "-p", str(seconds),         # for this many seconds, then stop sending
            "-d", str(DROP_TIME),       # unanswered after this long = dropped
            "-W", str(int(EXIT_WAIT * 1e6)),  # then wait (us) for late replies
            "-s", str(seed),            # the same pseudo-random client sequence every trial
            server]


def parse(text):
    """perfdhcp's final report -> {"rate": float, "malformed": int, "do": {...}, "ra": {...}};
    counts as ints, delays in ms as floats (None where perfdhcp says n/a)."""
    result = {"rate": None, "malformed": None}
    m = re.search(r"^Rate: ([0-9.]+) 4-way exchanges/second", text, re.M)
    if m:
        result["rate"] = float(m.group(1))
    m = re.search(r"^Malformed packets: (\d+)", text, re.M)
    if m:
        result["malformed"] = int(m.group(1))
    parts = re.split(r"^\*\*\*Statistics for: (\S+)\*\*\*$", text, flags=re.M)
    for title, body in zip(parts[1::2], parts[2::2]):
        key = _SECTIONS.get(title)
        if key is None:
            continue
        section = {}
        for line in body.splitlines():
            name, _, value = line.partition(": ")
            if name in _COUNTS:
                section[name.replace(" ", "_")] = int(float(value.split()[0]))
            elif name in _DELAYS:
                d = re.fullmatch(r"([0-9.]+) ms", value.strip())
                section[name.split()[0]] = float(d.group(1)) if d else None
        result[key] = section
    return result


def judge(stats, rate, seconds):
    """The figures of one trial from the parsed report."""
    do, ra = stats.get("do", {}), stats.get("ra", {})
    discovers = do.get("sent_packets", 0)
    acks = ra.get("received_packets", 0)
    drops = 100.0 * (1 - acks / discovers) if discovers else 100.0
    attained = discovers / float(rate * seconds)
    delays = [d for d in (do.get("avg"), ra.get("avg")) if d is not None]
    why = ""
    if drops >= MAX_DROPS:
        why = "%.2f%% of exchanges failed" % drops
    elif attained < MIN_ATTAINED:
        why = "perfdhcp sent only %.0f%% of the rate" % (100 * attained)
    elif delays and max(delays) > MAX_AVG_DELAY:
        why = "falling behind: mean delay %.0f ms" % max(delays)
    return {
        "discovers": discovers, "offers": do.get("received_packets", 0),
        "requests": ra.get("sent_packets", 0), "acks": acks,
        "drops_pct": round(drops, 3), "attained": round(attained, 3),
        "dora_per_s": round(acks / float(seconds), 1),
        "orphans": do.get("orphans", 0) + ra.get("orphans", 0),
        "rejected": do.get("rejected_leases", 0) + ra.get("rejected_leases", 0),
        "malformed": stats.get("malformed"),
        "latency_ms": {k: {f: stats.get(k, {}).get(f) for f in ("min", "avg", "max", "std")}
                       for k in ("do", "ra")},
        "ok": not why, "why": why,
    }


def trial(rig, outfile, rate, seconds, clients, cpu_pids, seed=1):
    """One perfdhcp run at a fixed rate; CPU of the given processes over its lifetime."""
    if os.path.exists(outfile):
        os.unlink(outfile)
    before = {name: cpu_seconds(pid) for name, pid in cpu_pids.items()}
    started = time.monotonic()
    proc = rig.spawn(command(rate, seconds, clients, seed, rig.family), ns=rig.cli,
                     stdout=outfile)
    code, perf_cpu = rig.wait_rusage(proc, timeout=seconds + EXIT_WAIT + 30)
    wall = time.monotonic() - started
    after = {name: cpu_seconds(pid) for name, pid in cpu_pids.items()}
    with open(outfile) as f:
        text = f.read()
    result = {"rate": rate, "seconds": seconds, "clients": clients, "exit": code,
              "wall": round(wall, 2)}
    result.update(judge(parse(text), rate, seconds))
    if code not in (0, 3):  # 3 = ran, but some exchanges were not completed
        last = [line for line in text.splitlines() if line.strip()][-1:] or ["no output"]
        raise PerfdhcpError("perfdhcp exited %d: %s" % (code, last[0]))
    used = {name: after[name] - before[name] for name in cpu_pids
            if before[name] is not None and after[name] is not None}
    for name in [n for n in used if n.startswith("worker-")]:
        used["server"] = used.get("server", 0) + used.pop(name)  # all apidhcpd processes
    result["cpu_pct"] = {name: round(100 * s / wall, 1) for name, s in used.items()}
    result["cpu_pct"]["perfdhcp"] = round(100 * perf_cpu / wall, 1)
    result["cpu_us_per_dora"] = (round(1e6 * sum(used.values()) / result["acks"])
                                 if result["acks"] else None)
    return result


def probe(rig, outfile):
    """Does a server answer yet? One exchange (-n 1), replies awaited for 0.3 s; True once
    an OFFER (an ADVERTISE) came back."""
    if os.path.exists(outfile):
        os.unlink(outfile)
    local, server = _where(rig.family)
    argv = [PERFDHCP] + local + ["-r", "10", "-n", "1", "-W", "300000", server]
    proc = rig.spawn(argv, ns=rig.cli, stdout=outfile)
    rig.wait_rusage(proc, timeout=15)
    with open(outfile) as f:
        stats = parse(f.read())
    return stats.get("do", {}).get("received_packets", 0) > 0


def version():
    out = sh([PERFDHCP, "-v"], check=False)
    text = (out.stdout + out.stderr).strip()
    return text.splitlines()[0] if text else "?"
