"""The routes that report: leases (/api/v1/leases), the server's status (/api/v1/status),
its metrics (/metrics) and the API's own description (/api/v1/openapi.json).

Knows how leases are listed, filtered and paged (the DHCPv4 leases in expiry order, then the
DHCPv6 ones; by offset while there are few, by a position in that order always; leasejson.py
writes each and its filters), and where status and metrics get their figures: the
store's health (ping), PoolFigures (store/pools.py: the one pool-utilisation count) and the
counters that metrics.py renders. Knows nothing of the inventory's hashes.
"""

from apidhcpd import __version__
from apidhcpd.admin import metrics, web
from apidhcpd.admin.app import AdminApp
from apidhcpd.admin.inputs import ipv4
from apidhcpd.admin.leasejson import STATES, families, filters, lease6_json, lease_json
from apidhcpd.admin.openapi import OPENAPI
from apidhcpd.admin.web import (
    ApiError,
    empty_reply,
    json_reply,
    offset_page,
    paging,
    query_args,
    too_many,
)
from apidhcpd.ha.heartbeat import public_reason
from apidhcpd.store.contract import StoreUnavailable

LEASE_STATES = STATES
LEASE_STEP, LEASE_BUDGET = 500, 20_000  # leases per store call, and per filtered page
V6_CURSOR = 10 ** 15  # a cursor from here on walks the DHCPv6 leases (no DHCPv4 rank gets here)

app = AdminApp.app


class _Family:
    """One family's leases as the listing reads them: its page read, count and JSON form."""

    def __init__(self, store, family: int):
        self.family = family
        self.read = store.leases if family == 4 else store.leases6_page
        self.count = store.lease_count if family == 4 else store.lease6_count
        self.json = lease_json if family == 4 else lease6_json


class LeaseRoutes(AdminApp):
    """/api/v1/leases, /api/v1/status, /metrics, /api/v1/openapi.json."""

    @app.route("/api/v1/leases", methods=["GET"])
    async def leases(self, request):
        """The DHCPv4 leases in expiry order, then the DHCPv6 ones in theirs (`family` picks
        one). By offset: `total` counted (filtered: while there are few leases); by cursor (a
        position in that order): up to `limit` matches among at most LEASE_BUDGET leases
        looked at."""
        args = query_args(request, ("offset", "limit", "cursor", "subnet", "state", "mac",
                                    "duid", "family"))
        offset, cursor, limit = paging(args)
        wanted = [_Family(self.store, f) for f in families(args.get("family"))]
        tests = filters(args)
        if cursor is not None:
            items, cursor = await self._lease_walk(int(cursor), limit, tests, wanted)
            return json_reply(request, 200, {"items": items, "limit": limit,
                                             "next_cursor": cursor})
        counts = [await family.count() for family in wanted]
        if not tests:
            items, start, end = [], offset, offset + limit
            for family, count in zip(wanted, counts):
                if start < count and end > 0:
                    page = await family.read(max(start, 0), min(end, count) - max(start, 0))
                    items += [family.json(x) for x in page]
                start, end = start - count, end - count
            return json_reply(request, 200, offset_page(items, offset, limit, sum(counts)))
        if sum(counts) > web.OFFSET_KEYS:
            raise too_many("leases", sum(counts))
        found = []
        for family in wanted:
            found += [entry for entry in map(family.json, await _every(family))
                      if all(test(entry) for test in tests)]
        return json_reply(request, 200, offset_page(found, offset, limit))

    async def _lease_walk(self, position, limit, tests, wanted):
        """From `position` (a DHCPv4 rank, or V6_CURSOR + a DHCPv6 rank) on: the DHCPv4 walk
        runs on into the DHCPv6 one."""
        items: list[dict] = []
        looked = 0
        by_family = {family.family: family for family in wanted}
        while looked < LEASE_BUDGET:
            six = position >= V6_CURSOR
            family = by_family.get(6 if six else 4)
            if family is None:  # DHCPv6 only: start there
                if six:
                    return items, "0"
                position = V6_CURSOR
                continue
            base = V6_CURSOR if six else 0
            batch = await family.read(position - base, LEASE_STEP)
            for lease in batch:
                position += 1
                entry = family.json(lease)
                if all(test(entry) for test in tests):
                    items.append(entry)
                    if len(items) == limit:
                        return items, str(position)
            looked += len(batch)
            if len(batch) < LEASE_STEP:
                if six or 6 not in by_family:
                    return items, "0"
                position = V6_CURSOR
        return items, str(position)

    @app.route("/api/v1/leases/<ip>", methods=["GET", "DELETE"])
    async def lease(self, request, ip):
        ip = ipv4(ip)
        if request.method == b"DELETE":
            self._authorize(request)
            if not await self.store.end_lease(ip):
                raise ApiError(404, "no lease", ["no lease on %s" % ip])
            return empty_reply(request)
        lease = await self.store.lease_at(ip)
        if lease is None:
            raise ApiError(404, "no lease", ["no lease on %s" % ip])
        return json_reply(request, 200, lease_json(lease))

    # status, metrics, description

    @app.route("/api/v1/status", methods=["GET"])
    async def status(self, request):
        redis: dict[str, object] = {"ok": True, "error": None}
        pools = []
        try:
            await self.store.ping()
            pools = await self.pools.current()
        except StoreUnavailable as e:
            redis = {"ok": False, "error": public_reason(str(e))}
        return json_reply(request, 200, {"version": __version__, "role": self.role(),
                                         "server_id": self.server.policy.server_id,
                                         "redis": redis, "pools": pools})

    @app.route("/metrics", methods=["GET"])
    async def metrics_page(self, request):
        """The store is asked first (ping, and the pool figures, counted again in the
        background when stale); then the collector (metrics.ServerMetrics) reads it all."""
        up = True
        try:
            await self.store.ping()
            await self.pools.current()
        except StoreUnavailable:
            up = False
        request.setHeader(b"content-type", metrics.CONTENT_TYPE)
        return self.metrics.page(store_up=up)

    @app.route("/api/v1/openapi.json", methods=["GET"])
    def openapi(self, request):
        return json_reply(request, 200, OPENAPI)


async def _every(family: _Family, page: int = 1000) -> list:
    """Every lease of one family, read `page` at a time."""
    found: list = []
    while True:
        batch = await family.read(len(found), page)
        found += batch
        if len(batch) < page:
            return found
