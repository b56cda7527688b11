"""How full each dynamic pool is, in one place for the status route, /metrics and `show pools`:
the pools (groups, subnets and client classes with a `range`, the seed's `pool` hash, and each
subnet6:'s address range and prefix pool), the store's counts of their unexpired leases, and
utilisation = (bound + offered) / size, to six significant digits (a lease in a /64 range is
5.4e-20 of it, not 0). A DHCPv6 pool's size is exact, however big (2^64 for a /64 range).
Knows nothing of HTTP."""

from collections.abc import Awaitable, Sequence
from typing import Any, Protocol

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from apidhcpd.inventory import allocation, allocation6
from apidhcpd.inventory.allocation import Range
from apidhcpd.inventory.allocation6 import NA, PD, Source6
from apidhcpd.limits.clock import Clock
from apidhcpd.store import keys

log = Logger()

Pool = tuple[str, tuple[Range, ...]]  # (group: or subnet: key, its ranges)
Usage = dict[str, Any]  # name, size, bound, offered, declined, utilisation


class Counter(Protocol):
    """The IAdmin calls (store/contract.py) the figures are counted with."""

    def hashes(self, prefix: str) -> Awaitable[dict[str, dict[str, str]]]: ...

    def pool_tally(self, pools: Sequence[Pool], now: int) -> Awaitable[list[dict[str, int]]]: ...

    def seed_pool_tally(self, now: int) -> Awaitable[dict[str, int]]: ...

    def pool6_tally(self, names: Sequence[str], now: int) -> Awaitable[list[dict[str, int]]]: ...


async def pool_definitions(store: Counter) -> list[Pool]:
    """(key, ranges) of every group, subnet and client class with a `range`: a walk over
    every key, so PoolFigures keeps it for DEFINITIONS_FOR seconds."""
    groups = await store.hashes("group:")
    subnets = await store.hashes("subnet:")
    classes = await store.hashes("class:")
    pools: list[Pool] = []
    for key, fields in sorted(groups.items()) + sorted(subnets.items()) \
            + sorted(classes.items()):
        try:
            ranges = allocation.parse_ranges(fields.get("range", ""))
        except ValueError:
            continue
        if ranges:
            pools.append((key, tuple(ranges)))
    return pools


async def pool6_definitions(store: Counter) -> list[Source6]:
    """The pools of every `subnet6:` key the lookup can match (RFC 5952 form): its `range`
    (named after its network) and its `pd-pool` (`<network>#pd`), where they have a part that
    reads; a walk over every key, kept as pool_definitions()'s is."""
    pools: list[Source6] = []
    for key, fields in sorted((await store.hashes(keys.SUBNET6)).items()):
        network = keys.network6(key)
        if allocation6.network6(network):
            pools += [source for source in (allocation6.source6(network, fields, kind)
                                            for kind in (NA, PD)) if source]
    return pools


def size6(source: Source6) -> int:
    """How many values a DHCPv6 pool holds: addresses of its ranges, or prefixes of its
    delegated length in its pool prefixes (exact, not capped as the cursor's walk is)."""
    if source.prefixes:
        return sum(1 << (source.delegated - length) for _, length in source.prefixes)
    return sum(last - first + 1 for first, last in source.ranges)


def pool6_name(source: Source6) -> str:
    """How the figures name a DHCPv6 pool: `subnet6:<network>`, `subnet6:<network>#pd`."""
    return keys.SUBNET6 + source.name


async def pool_usage(store: Counter, now: int, pools: Sequence[Pool] | None = None,
                     pools6: Sequence[Source6] | None = None) -> list[Usage]:
    """How full each dynamic pool is: every group and subnet with a `range` (`pools`, as
    pool_definitions() gives them), the seed's `pool` hash (where an owner without a lease
    record, the Go prototype's data, counts as bound), then each subnet6:'s address range and
    prefix pool (`pools6`, as pool6_definitions() gives them: a lease counts in the pool it
    came from). Only unexpired leases count; utilisation = (bound + offered) / size. The store
    counts (pool_tally, seed_pool_tally, pool6_tally)."""
    if pools is None:
        pools = await pool_definitions(store)
    if pools6 is None:
        pools6 = await pool6_definitions(store)
    usage = []
    for (key, ranges), counts in zip(pools, await store.pool_tally(pools, now)):
        usage.append(_usage(key, sum(end - start + 1 for start, end in ranges), counts))
    seed = await store.seed_pool_tally(now)
    if seed["size"]:
        usage.append(_usage("pool", seed["size"], seed))
    if pools6:
        tallies = await store.pool6_tally([source.name for source in pools6], now)
        usage += [_usage(pool6_name(source), size6(source), counts)
                  for source, counts in zip(pools6, tallies)]
    return usage


class PoolFigures:
    """pool_usage(), computed at most every `interval` seconds: a reader gets the last figures
    at once, and a reader that finds them stale starts a new count in the background (only the
    very first reader waits). Group and subnet definitions are read again every
    DEFINITIONS_FOR seconds, or after forget() (the API calls it on writes to them)."""

    DEFINITIONS_FOR = 300

    def __init__(self, store: Counter, clock: Clock, interval: float = 30.0):
        self.store = store
        self.clock = clock
        self.interval = interval
        self.figures: list[Usage] | None = None
        self.at: float | None = None  # when the figures were counted
        self.pools: list[Pool] | None = None  # pool_definitions(), and when they were read
        self.pools6: list[Source6] = []  # pool6_definitions(), read with them
        self.pools_at = 0.0
        self._running: defer.Deferred[None] | None = None
        self._waiting: list[defer.Deferred[list[Usage]]] = []

    def age(self) -> float | None:
        return None if self.at is None else max(0.0, self.clock.seconds() - self.at)

    def forget(self) -> None:
        self.pools = None

    def current(self) -> defer.Deferred[list[Usage]]:
        age = self.age()
        if self.figures is None or age is None or age >= self.interval:
            if self._running is None:
                self._running = defer.ensureDeferred(self._count()).addBoth(self._done)
            if self.figures is None:  # the first count: wait for it
                waiting: defer.Deferred[list[Usage]] = defer.Deferred()
                self._waiting.append(waiting)
                return waiting
        return defer.succeed(self.figures)

    async def _count(self) -> None:
        now = self.clock.seconds()
        if self.pools is None or now - self.pools_at >= self.DEFINITIONS_FOR:
            self.pools = await pool_definitions(self.store)
            self.pools6, self.pools_at = await pool6_definitions(self.store), now
        self.figures = await pool_usage(self.store, int(now), self.pools, self.pools6)
        self.at = now

    def _done(self, result: object) -> None:
        self._running = None
        waiting, self._waiting = self._waiting, []
        if isinstance(result, Failure):
            log.info("pool figures not counted: {error}", error=result.getErrorMessage())
        for d in waiting:
            if isinstance(result, Failure):
                d.errback(result)
            elif self.figures is not None:
                d.callback(self.figures)


def _usage(name: str, size: int, counts: dict[str, int]) -> Usage:
    used = counts["bound"] + counts["offered"]
    return {"name": name, "size": size, "bound": counts["bound"], "offered": counts["offered"],
            "declined": counts["declined"],
            "utilisation": float("%.6g" % (used / size)) if size else 0.0}
