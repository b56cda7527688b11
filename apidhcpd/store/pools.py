"""How full each dynamic pool is, in one place for the status route, /metrics and `show pools`:
the pools (groups and subnets with a `range`, and the seed's `pool` hash), the store's counts of
their unexpired leases, and utilisation = (bound + offered) / size. Knows nothing of HTTP."""


from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from apidhcpd.inventory import allocation

log = Logger()


async def pool_definitions(store) -> list[tuple]:
    """(key, ranges) of every group and subnet with a `range`: a walk over every key, so
    PoolFigures keeps it for DEFINITIONS_FOR seconds."""
    groups = await store.hashes("group:")
    subnets = await store.hashes("subnet:")
    pools = []
    for key, fields in sorted(groups.items()) + sorted(subnets.items()):
        try:
            ranges = allocation.parse_ranges(fields.get("range", ""))
        except ValueError:
            continue
        if ranges:
            pools.append((key, tuple(ranges)))
    return pools


async def pool_usage(store, now: int, pools=None) -> list[dict]:
    """How full each dynamic pool is: every group and subnet with a `range` (`pools`, as
    pool_definitions() gives them), and the seed's `pool` hash (where an owner without a lease
    record, the Go prototype's data, counts as bound). Only unexpired leases count;
    utilisation = (bound + offered) / size. The store counts (pool_tally, seed_pool_tally)."""
    if pools is None:
        pools = await pool_definitions(store)
    usage = []
    for (key, ranges), counts in zip(pools, await store.pool_tally(pools, now)):
        usage.append(_usage(key, sum(end - start + 1 for start, end in ranges), counts))
    seed = await store.seed_pool_tally(now)
    if seed["size"]:
        usage.append(_usage("pool", seed["size"], seed))
    return usage


class PoolFigures:
    """pool_usage(), computed at most every `interval` seconds: a reader gets the last figures
    at once, and a reader that finds them stale starts a new count in the background (only the
    very first reader waits). Group and subnet definitions are read again every
    DEFINITIONS_FOR seconds, or after forget() (the API calls it on writes to them)."""

    DEFINITIONS_FOR = 300

    def __init__(self, store, clock, interval: float = 30.0):
        self.store = store
        self.clock = clock
        self.interval = interval
        self.figures = None
        self.at = None  # when the figures were counted
        self.pools = None  # pool_definitions(), and when they were read
        self.pools_at = None
        self._running = None
        self._waiting = []

    def age(self) -> float | None:
        return None if self.at is None else max(0.0, self.clock.seconds() - self.at)

    def forget(self) -> None:
        self.pools = None

    def current(self) -> defer.Deferred:
        if self.figures is None or self.age() >= self.interval:
            if self._running is None:
                self._running = defer.ensureDeferred(self._count()).addBoth(self._done)
            if self.figures is None:  # the first count: wait for it
                waiting = defer.Deferred()
                self._waiting.append(waiting)
                return waiting
        return defer.succeed(self.figures)

    async def _count(self):
        now = self.clock.seconds()
        if self.pools is None or now - self.pools_at >= self.DEFINITIONS_FOR:
            self.pools, self.pools_at = await pool_definitions(self.store), now
        self.figures = await pool_usage(self.store, int(now), self.pools)
        self.at = now

    def _done(self, result):
        self._running = None
        waiting, self._waiting = self._waiting, []
        if isinstance(result, Failure):
            log.info("pool figures not counted: {error}", error=result.getErrorMessage())
        for d in waiting:
            if isinstance(result, Failure):
                d.errback(result)
            else:
                d.callback(self.figures)


def _usage(name, size, counts) -> dict:
    used = counts["bound"] + counts["offered"]
    return {"name": name, "size": size, "bound": counts["bound"], "offered": counts["offered"],
            "declined": counts["declined"], "utilisation": round(used / size, 6) if size else 0.0}
