"""The server's own CPU per DORA, without UDP or perfdhcp: DHCPServer on a private Redis.

    .venv/bin/python bench/inprocess.py [--dora 3000] [--concurrency 100] [--runs 3] [--no-cache]

Starts its own redis-server on a unix socket in a temp dir (never the machine's 6379), runs
DISCOVER+REQUEST for distinct relayed clients through DHCPServer and the codec, and prints
DORA/s, process CPU per DORA and Redis's CPU per DORA (INFO cpu) for each run and their
medians. It measures what a code change
does to the packet path's Python and Redis-client cost; `make bench` measures the whole server.
"""

import argparse
import ipaddress
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from twisted.internet import defer, task

from apidhcpd import collector
from apidhcpd.dhcp4 import codec
from apidhcpd.dhcp4.message import Message
from apidhcpd.dhcp4.profile import Link
from apidhcpd.dhcp4.transaction import Policy
from apidhcpd.store.inventorycache import InventoryCache
from apidhcpd.store.redis import RedisStore, RedisURL

LINK = Link("192.0.2.1", ipaddress.IPv4Network("192.0.2.0/24"))
GROUP = ["gateway", "192.0.2.1", "prefix", "16", "dns", "192.0.2.53", "lease-time", "1h"]


def packet(kind, n, **options):
    msg = Message(xid=n, giaddr="192.0.2.2", chaddr=(0x020000000000 + n).to_bytes(6, "big"))
    msg.set(53, kind)
    msg.set(55, [1, 3, 6, 15, 28, 51, 54])
    for code, value in options.items():
        msg.set(int(code[1:]), value)
    return codec.encode(msg)


@defer.inlineCallbacks
def one_run(reactor, sock, count, concurrency, cache):
    from apidhcpd.dhcp4.server import DHCPServer
    store = RedisStore(RedisURL.parse("unix://%s?db=0" % sock), reactor)
    if cache:  # as the server runs by default (--cache-ttl 60s)
        store = InventoryCache(store, reactor, ttl=60)
    store.connect()
    while not store.connected or (cache and store._groups is None):
        yield task.deferLater(reactor, 0.05, lambda: None)
    server = DHCPServer(store, Policy("192.0.2.1"), reactor, log_exchanges=False,
                        max_pending=concurrency * 2)

    @defer.inlineCallbacks
    def dora(n):
        offer = yield server.handle(codec.decode(packet(1, n)), LINK)
        codec.encode(offer)
        ack = yield server.handle(codec.decode(packet(3, n, o50=offer.yiaddr,
                                                      o54="192.0.2.1")), LINK)
        codec.encode(ack)
        assert ack.message_type == 5, ack

    gate = defer.DeferredSemaphore(concurrency)
    wall, cpu = time.perf_counter(), time.process_time()
    yield defer.gatherResults([gate.run(dora, n) for n in range(count)])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    yield store.disconnect()
    return count / wall, cpu / count * 1e6


def redis_cpu(cli) -> float:
    """Seconds of CPU the redis-server has used (its main thread and the rest)."""
    info = subprocess.run(cli + ["INFO", "cpu"], capture_output=True, text=True).stdout
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    return float(fields["used_cpu_user"]) + float(fields["used_cpu_sys"])


@defer.inlineCallbacks
def main(reactor, args):
    collector.tune()  # as twistd apidhcpd does
    workdir = tempfile.mkdtemp(prefix="apidhcpd-inprocess-")
    sock = os.path.join(workdir, "redis.sock")
    redis = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", sock, "--save", "",
                              "--appendonly", "no", "--dir", workdir],
                             stdout=subprocess.DEVNULL)
    try:
        cli = ["redis-cli", "-s", sock]
        while subprocess.run(cli + ["PING"], capture_output=True).stdout.strip() != b"PONG":
            yield task.deferLater(reactor, 0.05, lambda: None)
        rates, costs, redis_costs = [], [], []
        for run in range(args.runs):
            subprocess.run(cli + ["FLUSHALL"], capture_output=True, check=True)
            subprocess.run(cli + ["HSET", "group:default"] + GROUP, capture_output=True,
                           check=True)
            subprocess.run(cli + ["HSET", "group:pool"] + GROUP +
                           ["range", "192.0.2.10-192.0.250.250"], capture_output=True,
                           check=True)
            before = redis_cpu(cli)
            rate, cost = yield one_run(reactor, sock, args.dora, args.concurrency,
                                      not args.no_cache)
            redis_cost = (redis_cpu(cli) - before) / args.dora * 1e6
            rates.append(rate)
            costs.append(cost)
            redis_costs.append(redis_cost)
            print("run %d: %d DORA, %.0f DORA/s, %.0f us CPU per DORA, Redis %.0f us"
                  % (run + 1, args.dora, rate, cost, redis_cost))
        print("median: %.0f DORA/s, %.0f us CPU per DORA, Redis %.0f us"
              % (statistics.median(rates), statistics.median(costs),
                 statistics.median(redis_costs)))
    finally:
        redis.kill()
        redis.wait()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dora", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-cache", action="store_true", help="without the inventory cache")
    options = parser.parse_args()
    task.react(main, [options])
