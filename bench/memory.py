"""The in-process caches at their default caps under a flood of made-up clients: RSS and sizes.

    .venv/bin/python bench/memory.py [--clients 600000] [--small] [--every 60000]

Each made-up client sends a DISCOVER and a REQUEST (as decoded messages, no sockets) through
DHCPServer over OutageCache(InventoryCache(store)), as `twistd apidhcpd` wires them. The store
keeps nothing and binds every REQUEST (as Redis would, with an unbounded pool), so only the
caches grow. By default every client carries the largest option 61, 12 and 82 (relayed);
`--small` sends none of them. Prints RSS and what each cache holds every `--every` clients;
with the caps RSS levels off, without them it grows with every client. No network, no Redis.
"""

import argparse
import gc
import ipaddress
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from twisted.internet import defer
from twisted.internet.task import Clock

from apidhcpd import collector
from apidhcpd.dhcp4.handlers import GroupOptions
from apidhcpd.dhcp4.message import Message
from apidhcpd.dhcp4.profile import Link
from apidhcpd.dhcp4.server import DHCPServer
from apidhcpd.dhcp4.transaction import Policy
from apidhcpd.store.contract import NO_FIELDS, Bound, Lease, Lookup, Offered, OfferIntent
from apidhcpd.store.inventorycache import InventoryCache
from apidhcpd.store.outage import OutageCache

LINK = Link("192.0.2.1", ipaddress.IPv4Network("192.0.2.0/24"))
DEFAULT = {"gateway": "192.0.2.1", "prefix": "24"}
POOL = {"gateway": "192.0.2.1", "prefix": "24", "range": "192.0.2.10-192.0.2.250"}


class Forgetful:
    """A store that answers every client as unknown and binds whatever it asks for."""

    def connect(self):
        pass

    def watch(self, changed, watching):
        watching(True)

    def hashes(self, prefix):
        found = {"group:default": DEFAULT, "group:pool": POOL}
        return defer.succeed({k: v for k, v in found.items() if k.startswith(prefix)})

    def touch(self, keys, now):
        return defer.succeed(None)

    def lookup(self, keys, now, selector, intent=None, subnet=None):
        return defer.succeed(Lookup(None, "pool", POOL, DEFAULT, None, NO_FIELDS,
                                    allocation=self.allocate(intent, None, 0, now).result))

    def allocate(self, intent, source, lease_time, now):
        if intent is None:
            return defer.succeed(None)
        if isinstance(intent, OfferIntent):
            return defer.succeed(Offered("192.0.2.10"))
        return defer.succeed(Bound(Lease(intent.address, intent.mac, "bound", now + 3600,
                                         intent.relay.hex())))


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0


def message(n, kind, large, **options):
    msg = Message(op=1, xid=n, chaddr=(0x0A0000000000 + n).to_bytes(6, "big"),
                  giaddr="198.51.100.1" if large else "0.0.0.0")
    msg.set(53, kind)
    if large:
        word = n.to_bytes(4, "big")
        msg.set(61, b"\xff" + word * 63 + b"\x00\x00")  # 255 bytes
        msg.set(12, ("c%d-" % n).ljust(255, "y"))
        msg.set(82, [(1, word * 30 + b"\x01\x02\x03"), (2, word * 30 + b"\x04\x05\x06")])
    for code, value in options.items():
        msg.set(int(code[1:]), value)
    return msg


def sizes(outage, inventory, profiles) -> str:
    if not hasattr(outage, "_answers"):
        return ""  # the code before the caps: RSS only
    return ("; outage cache %d answers %.1f MB, %d leases %.1f MB; inventory cache %d "
            "answers %.1f MB, %d keys; %d profiles" % (
                len(outage._answers), outage._answers.bytes / 2**20, len(outage._leases),
                outage._leases.bytes / 2**20, len(inventory._hosts),
                inventory._hosts.bytes / 2**20, len(inventory._by_key), len(profiles.cache)))


def main(args):
    collector.tune()  # as twistd apidhcpd does
    clock = Clock()
    clock.advance(1_000_000)
    inventory = InventoryCache(Forgetful(), clock)
    inventory.connect()
    outage = OutageCache(inventory, clock)
    server = DHCPServer(outage, Policy(server_id="192.0.2.1"), clock, log_exchanges=False)
    profiles = next(step for step in server.chain if isinstance(step, GroupOptions))
    start, began = rss_mb(), time.perf_counter()
    print("start: RSS %.1f MB" % start)
    for n in range(1, args.clients + 1):
        server.handle(message(n, 1, not args.small), LINK)
        server.handle(message(n, 3, not args.small, o50="192.0.2.10", o54="192.0.2.1"), LINK)
        clock.advance(0.0005)
        if n % args.every == 0:
            gc.freeze()  # as the collector service does every second
            print("%7d clients: RSS %6.1f MB (+%.1f)%s" % (
                n, rss_mb(), rss_mb() - start, sizes(outage, inventory, profiles)), flush=True)
    print("%.0f s" % (time.perf_counter() - began))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=600_000)
    parser.add_argument("--every", type=int, default=60_000)
    parser.add_argument("--small", action="store_true", help="no option 61, 12 or 82")
    main(parser.parse_args())
