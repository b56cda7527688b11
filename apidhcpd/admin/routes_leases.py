"""The routes that report: leases (/api/v1/leases), the server's status (/api/v1/status),
its metrics (/metrics) and the API's own description (/api/v1/openapi.json).

Knows how leases are listed, filtered and paged (expiry order; by offset while there are few,
by a position in expiry order always), and where status and metrics get their figures: the
store's health (ping), PoolFigures (store/pools.py: the one pool-utilisation count) and the
counters that metrics.py renders. Knows nothing of the inventory's hashes.
"""

import ipaddress

from apidhcpd import __version__
from apidhcpd.admin import metrics, web
from apidhcpd.admin.app import AdminApp
from apidhcpd.admin.inputs import ipv4, normalise_mac
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

LEASE_STATES = ("offered", "bound", "declined")
LEASE_STEP, LEASE_BUDGET = 500, 20_000  # leases per store call, and per filtered page

app = AdminApp.app


def lease_json(lease) -> dict:
    return {"ip": lease.ip, "mac": lease.mac, "state": lease.state, "expires": lease.expires,
            "relay": lease.relay}


async def all_leases(store, page: int = 1000) -> list:
    """Every lease the store holds, read `page` at a time (IAdmin.leases)."""
    leases: list = []
    offset = 0
    while True:
        batch = await store.leases(offset, page)
        if not batch:
            return leases
        leases.extend(batch)
        offset += page


class LeaseRoutes(AdminApp):
    """/api/v1/leases, /api/v1/status, /metrics, /api/v1/openapi.json."""

    @app.route("/api/v1/leases", methods=["GET"])
    async def leases(self, request):
        """By offset: expiry order, `total` counted (filtered: while there are few leases);
        by cursor (a position in expiry order): up to `limit` matches among at most
        LEASE_BUDGET leases looked at."""
        args = query_args(request, ("offset", "limit", "cursor", "subnet", "state", "mac"))
        offset, cursor, limit = paging(args)
        tests = []
        if "subnet" in args:
            try:
                network = ipaddress.IPv4Network(args["subnet"], strict=False)
            except ValueError as e:
                raise ApiError(400, "bad subnet", [str(e)]) from e
            tests.append(lambda lease: ipaddress.IPv4Address(lease.ip) in network)
        if "state" in args:
            if args["state"] not in LEASE_STATES:
                raise ApiError(400, "bad state", ["state is one of " + ", ".join(LEASE_STATES)])
            tests.append(lambda lease: lease.state == args["state"])
        if "mac" in args:
            mac = normalise_mac(args["mac"])
            tests.append(lambda lease: lease.mac == mac)
        if cursor is not None:
            items, cursor = await self._lease_walk(int(cursor), limit, tests)
            return json_reply(request, 200, {"items": items, "limit": limit,
                                             "next_cursor": cursor})
        count = await self.store.lease_count()
        if not tests:
            page = await self.store.leases(offset, limit)
            return json_reply(request, 200, offset_page([lease_json(x) for x in page], offset,
                                                        limit, count))
        if count > web.OFFSET_KEYS:
            raise too_many("leases", count)
        found = [lease_json(lease) for lease in await all_leases(self.store)
                 if all(test(lease) for test in tests)]
        return json_reply(request, 200, offset_page(found, offset, limit))

    async def _lease_walk(self, position, limit, tests):
        items, looked = [], 0
        while looked < LEASE_BUDGET:
            batch = await self.store.leases(position, LEASE_STEP)
            for lease in batch:
                position += 1
                if all(test(lease) for test in tests):
                    items.append(lease_json(lease))
                    if len(items) == limit:
                        return items, str(position)
            looked += len(batch)
            if len(batch) < LEASE_STEP:
                return items, "0"
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
