"""Redis time per DISCOVER on a /16 pool, empty, half full and full (issue 10, item 6).

    .venv/bin/python bench/pooltime.py                        # both pools, all states
    .venv/bin/python bench/pooltime.py --calls 100 --json out.json
    .venv/bin/python bench/pooltime.py --size 4096 --calls 20  # a quick look

A private redis-server (tests/redisserver.py, no root needed) gets a pool of `--size` (65,536,
a /16) addresses in one of two forms:

- `range`: `group:pool` with `range 198.18.0.0-198.18.255.255`;
- `pool hash`: `group:pool` without a range and the seed's `pool` hash with one (empty) field
  per address.

198.18.0.0/15 is the benchmarking range (RFC 2544); no documentation range holds a /16. The
addresses are only strings in this Redis: nothing is configured with them, nothing is sent.

The pool is filled to 0%, 50% (a random half, `--seed`) and 100% with bound leases through the
store's own `commit()`, and in each state `--calls` DISCOVERs of new MACs are made the way the
server makes them: `RedisStore.lookup(["mac:<mac>"], now, ..., OfferIntent(...))`, driven
by the Twisted reactor, one at a time. The Redis time of one DISCOVER is read from `INFO
commandstats` before and after it (nothing else talks to this Redis meanwhile): the time of the
scripts it ran or, for a store that runs none, of every command it sent. (SLOWLOG would do it
per entry, but Redis 7 logs every command a script runs as well, which slows a long script
down and overflows the log.) The client's wall time per call is reported too; it includes the
store's 1 ms batching delay (`redisstore.FLUSH_AFTER`).

The DISCOVERs come `--interval` (0.05 s) apart: with the guard as the server leaves it, a full
range is searched once, then not again for 5 s (`EXHAUSTED_FOR`), so a measurement of 200
calls over 10 s sees that search two or three times.

Each state is measured twice: with the `exhausted` guard as the server leaves it, and with it
cleared before every call the way any client can clear it: a client holding a lease RELEASEs it
and takes it back (`release()` then `commit()`, public store calls; in the empty state that
client takes its lease first). After each measurement the offers it made are dropped
(`release_offer()`), so that the states stay what they say.

Only public store methods are used (lookup with an Intent, commit, release, release_offer), so
the script runs unchanged against a store that finds free addresses another way.
"""

import argparse
import ipaddress
import json
import os
import random
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
if REPO not in sys.path:
    sys.path.insert(0, REPO)

FIRST = int(ipaddress.IPv4Address("198.18.0.0"))  # RFC 2544's benchmarking range
LEASE_TIME = 30 * 86400
HOLD = 60
GROUP = {"gateway": "198.18.0.1", "prefix": "16", "dns": "198.51.100.53",
         "domain": "pool.example.test", "lease-time": "30d"}


def address(i):
    return str(ipaddress.IPv4Address(FIRST + i))


def fill_mac(i):
    return "02:f1:%02x:%02x:%02x:%02x" % tuple((i >> s) & 0xFF for s in (24, 16, 8, 0))


def probe_mac(n):
    return "02:d0:%02x:%02x:%02x:%02x" % tuple((n >> s) & 0xFF for s in (24, 16, 8, 0))


SCRIPTS = ("eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro")
ADMIN = ("info", "config", "slowlog", "echo", "ping", "select", "client", "hello", "auth")


def commandstats(text):
    """{command: (calls, usec)} from the text of INFO commandstats."""
    stats = {}
    for line in text.splitlines():
        if not line.startswith("cmdstat_"):
            continue
        name, _, fields = line[8:].partition(":")
        values = dict(item.split("=", 1) for item in fields.strip().split(","))
        stats[name.lower()] = (int(values["calls"]), int(values["usec"]))
    return stats


def redis_time(before, after):
    """Redis microseconds spent between two commandstats snapshots by the commands a client
    sent. A command a script runs is counted under its own name as well as in the script's
    time: when scripts ran, their time is the answer (a plain command sent next to a script
    would be missed); otherwise every command's. Admin commands (INFO, ...) are left out."""
    delta = {name: (calls - before.get(name, (0, 0))[0], usec - before.get(name, (0, 0))[1])
             for name, (calls, usec) in after.items()}
    scripts = [usec for name, (calls, usec) in delta.items() if name in SCRIPTS and calls]
    if scripts:
        return sum(scripts)
    return sum(usec for name, (calls, usec) in delta.items()
               if calls and name not in ADMIN and "|" not in name)


def percentile(values, p):
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, -(-len(ordered) * p // 100) - 1))]


def summary(values):
    if not values:
        return {"median": None, "p99": None, "max": None}
    return {"median": round(statistics.median(values)), "p99": round(percentile(values, 99)),
            "max": round(max(values))}


class Bench:
    """The store under measurement and an admin connection to the same Redis."""

    def __init__(self, reactor, redis, args):
        self.reactor = reactor
        self.redis = redis
        self.args = args
        self.store = None
        self.admin = None
        self.probes = 0  # probe MACs used so far (never reused: each DISCOVER is a new client)

    async def start(self):
        import txredisapi
        from twisted.internet import task

        from apidhcpd.store.redis import RedisStore, RedisURL
        self.store = RedisStore(RedisURL.parse(self.redis.unix_url), self.reactor, timeout=60)
        self.store.connect()
        for _ in range(200):
            if self.store.connected:
                break
            await task.deferLater(self.reactor, 0.05, lambda: None)
        else:
            raise RuntimeError("the store did not connect")
        self.admin = await txredisapi.UnixConnection(
            self.redis.unix_path, dbid=0, reconnect=False, convertNumbers=False)

    async def stop(self):
        if self.admin is not None:
            await self.admin.disconnect()
        if self.store is not None:
            await self.store.disconnect()

    def cmd(self, *words):
        return self.admin.execute_command(*words)

    # -- the pool
    async def seed(self, kind, size):
        await self.cmd("FLUSHALL")
        await self.cmd("HSET", "group:default", *_flat(GROUP))
        fields = dict(GROUP)
        if kind == "range":
            fields["range"] = "%s-%s" % (address(0), address(size - 1))
        await self.cmd("HSET", "group:pool", *_flat(fields))
        if kind == "pool":
            for start in range(0, size, 2000):
                flat = []
                for i in range(start, min(size, start + 2000)):
                    flat += [address(i), ""]
                await self.cmd("HSET", "pool", *flat)

    def source(self, kind, size):
        from apidhcpd.store.contract import AddressSource
        if kind == "range":
            return AddressSource("pool", ((FIRST, FIRST + size - 1),), seed_pool=True)
        return AddressSource("pool", (), seed_pool=True)

    async def fill(self, indexes, source):
        """Bind each address to its own MAC through the store's commit(), in batches."""
        from twisted.internet import defer
        now = int(time.time())
        for start in range(0, len(indexes), 1000):
            await defer.gatherResults(
                [self.store.commit(fill_mac(i), address(i), source, LEASE_TIME, now)
                 for i in indexes[start:start + 1000]], consumeErrors=True)

    # -- one measurement
    async def discover(self, mac):
        from apidhcpd.store.contract import OfferIntent
        intent = OfferIntent(mac, "", HOLD)
        keys, now = ["mac:" + mac], int(time.time())
        try:  # the server's inventory cache passes the subnet it knows ("" for none)
            return await self.store.lookup(keys, now, "198.18.0.1", intent, subnet="")
        except TypeError:
            return await self.store.lookup(keys, now, "198.18.0.1", intent)

    async def cell(self, source, attacker, cleared):
        """`--calls` DISCOVERs of new MACs, `--interval` apart (fewer if `--cell-seconds` runs
        out)."""
        from twisted.internet import task
        args = self.args
        mac_a, ip_a = attacker
        now = int(time.time())
        if cleared:  # the attacker's lease, which it releases and takes back before each call
            await self.store.commit(mac_a, ip_a, source, LEASE_TIME, now)
        walls, redis_us, offered, macs = [], [], 0, []
        began = time.monotonic()
        for n in range(args.calls):
            if cleared:
                await self.store.release(mac_a, ip_a, int(time.time()))
                await self.store.commit(mac_a, ip_a, source, LEASE_TIME, int(time.time()))
            self.probes += 1
            mac = probe_mac(self.probes)
            macs.append(mac)
            before = commandstats(await self.cmd("INFO", "commandstats"))
            t = time.perf_counter()
            found = await self.discover(mac)
            walls.append((time.perf_counter() - t) * 1e6)
            after = commandstats(await self.cmd("INFO", "commandstats"))
            redis_us.append(redis_time(before, after))
            from apidhcpd.store.contract import Offered
            if isinstance(found.allocation, Offered) and found.allocation.ip:
                offered += 1
            if time.monotonic() - began > args.cell_seconds and n + 1 >= args.min_calls:
                break
            if args.interval:
                await task.deferLater(self.reactor, args.interval, lambda: None)
        for mac in macs:  # the offers made go back: the state stays what it says
            await self.store.release_offer(mac)
        return {"calls": len(walls), "offered": offered, "redis_us": summary(redis_us),
                "wall_us": summary(walls), "redis_us_mean": round(statistics.mean(redis_us))}

    async def run(self, kind, size, states):
        rng = random.Random(self.args.seed)
        order = list(range(size))
        rng.shuffle(order)
        half, rest = order[:size // 2], order[size // 2:]
        attacker = (fill_mac(half[0]), address(half[0]))
        source = self.source(kind, size)
        await self.seed(kind, size)
        mac = probe_mac(0)  # not measured: the first use of a script compiles it
        await self.discover(mac)
        await self.store.release_offer(mac)
        results = []
        filled = 0
        for state in states:
            target = {"empty": 0, "half": size // 2, "full": size}[state]
            if target > filled:
                t = time.monotonic()
                await self.fill((half + rest)[filled:target], source)
                print("pooltime: %s pool filled to %d of %d in %.1fs"
                      % (kind, target, size, time.monotonic() - t), flush=True)
                filled = target
            for cleared in (False, True):
                r = await self.cell(source, attacker, cleared)
                r.update({"pool": kind, "state": state,
                          "guard": "cleared before each call" if cleared else "as left"})
                results.append(r)
                print(row(r), flush=True)
        return results


def _commit():
    import subprocess
    try:
        return subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        return None


def _flat(fields):
    return [x for kv in fields.items() for x in kv]


HEAD = ("| pool | state | exhausted guard | calls | offered | Redis µs median | p99 | max "
        "| wall µs median | max |\n|---|---|---|---|---|---|---|---|---|---|")


def row(r):
    red, wall = r["redis_us"], r["wall_us"]
    return "| %s | %s | %s | %d | %d | %s | %s | %s | %s | %s |" % (
        {"range": "range", "pool": "pool hash"}[r["pool"]], r["state"], r["guard"], r["calls"],
        r["offered"], _n(red["median"]), _n(red["p99"]), _n(red["max"]), _n(wall["median"]),
        _n(wall["max"]))


def _n(value):
    return "-" if value is None else f"{value:,}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=65536, help="addresses in the pool (/16)")
    parser.add_argument("--calls", type=int, default=200, help="DISCOVERs per measurement")
    parser.add_argument("--min-calls", type=int, default=10,
                        help="at least this many even when --cell-seconds runs out")
    parser.add_argument("--interval", type=float, default=0.05,
                        help="seconds between two DISCOVERs (20 new clients a second)")
    parser.add_argument("--cell-seconds", type=float, default=30,
                        help="time bound of one measurement")
    parser.add_argument("--pools", default="range,pool", help="range, pool or both")
    parser.add_argument("--states", default="empty,half,full")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    if not 2 <= args.size <= 131072:
        parser.error("--size must be 2 to 131072 (198.18.0.0/15)")
    states = [s for s in args.states.split(",") if s]
    order = {"empty": 0, "half": 1, "full": 2}
    if any(s not in order for s in states):
        parser.error("--states: empty, half, full")
    states.sort(key=order.get)

    from twisted.internet import defer, task

    from tests.redisserver import RedisServer

    results = []

    async def measure(reactor):
        redis = RedisServer().start()
        bench = Bench(reactor, redis, args)
        try:
            await bench.start()
            version = (await bench.cmd("INFO", "server")).split("redis_version:")[1].split()[0]
            for kind in [p for p in args.pools.split(",") if p]:
                results.extend(await bench.run(kind, args.size, states))
        finally:
            await bench.stop()
            redis.stop()
        print()
        print(HEAD)
        for r in results:
            print(row(r))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"settings": vars(args), "redis_version": version,
                           "commit": _commit(), "results": results}, f, indent=1)

    task.react(lambda reactor: defer.ensureDeferred(measure(reactor)))


if __name__ == "__main__":
    main()
