"""The inventory routes: hosts, clients, groups, subnets, classes, and DHCPv6's subnets6 and
duids (/api/v1/<kind>), and the seed's pool hash (/api/v1/pool).

Knows what GET, PUT, PATCH and DELETE mean for a hash of the Redis contract (docs/redis.md),
which fields a PUT keeps because the server wrote them, and how lists page (sorted by offset
while the store is small, by SCAN cursor always). Whether a write is valid is validation.py's
to say; that a write invalidates the pool definitions is PoolFigures' (forget()).
"""

from apidhcpd.admin import web
from apidhcpd.admin.app import AdminApp
from apidhcpd.admin.validation import (
    check_delete,
    check_fields,
    check_pool_removal,
    check_write,
    class_key,
    client_key,
    duid_key,
    group_key,
    ipv4,
    mac_key,
    network_warnings,
    noun,
    subnet6_key,
    subnet_key,
)
from apidhcpd.admin.web import (
    ApiError,
    empty_reply,
    json_body,
    json_reply,
    offset_page,
    paging,
    query_args,
    too_many,
)
from apidhcpd.inventory import allocation
from apidhcpd.store import keys

WALK_BUDGET = 100_000  # keys one cursor page may look at (SCAN steps of up to 1,000)
KINDS = {"hosts": keys.MAC, "clients": keys.CLIENT, "groups": keys.GROUP,
         "subnets": keys.SUBNET, "classes": keys.CLASS, "subnets6": keys.SUBNET6,
         "duids": keys.DUID}
NETWORK_KEYS = (keys.GROUP, keys.SUBNET)  # what the gateway warnings come from
POOL_KEYS = (*NETWORK_KEYS, keys.CLASS, keys.SUBNET6)  # what pools come from (range, pd-pool)

app = AdminApp.app


def plan(key: str, body: dict, current: dict | None, patch: bool):
    """A PUT (replace) or PATCH (merge; null removes a field) as (hash afterwards, fields to
    set, fields to remove). A PUT on a host keeps what the server wrote: `ts`, and a dynamic
    lease (`ip` + `dynamic`) unless the body names an `ip`, which makes it a reservation."""
    check_fields(key, body, nullable=patch)
    current = current or {}
    is_host = key.startswith(keys.HOST_PREFIXES6)  # `ts` and `dynamic` are the server's
    if patch:
        sets = {k: v for k, v in body.items() if v is not None}
        removes = [k for k, v in body.items() if v is None and k in current]
        if is_host and "ip" in body and current.get("dynamic"):
            removes.append("dynamic")
        after = dict(current)
        after.update(sets)
        for name in removes:
            after.pop(name, None)
        return after, sets, removes
    if not body:
        raise ApiError(400, "no fields", ["PUT needs at least one field; DELETE removes"])
    after = dict(body)
    if is_host:
        if "ts" in current:
            after["ts"] = current["ts"]
        if current.get("dynamic") and current.get("ip") and "ip" not in body:
            after.update(ip=current["ip"], dynamic=current["dynamic"])
    return after, after, []


def entry_json(key: str, fields: dict) -> dict:
    return {"key": key, "id": key.split(":", 1)[1], "fields": fields}


def _addresses(pool) -> list:
    return [{"address": ip, "owner": pool[ip]} for ip in sorted(pool, key=_address_order)]


def _address_order(ip: str):
    try:
        return (0, allocation.ip_to_int(ip), ip)
    except OSError:
        return (1, 0, ip)


class InventoryRoutes(AdminApp):
    """/api/v1/hosts, clients, groups, subnets, classes, subnets6, duids, and /api/v1/pool."""

    @app.route("/api/v1/<any(hosts, clients, groups, subnets, classes, subnets6, duids):kind>",
               methods=["GET"])
    async def list_entries(self, request, kind):
        """By cursor: one bounded walk step (about `limit` entries, in the store's order);
        by offset: sorted by key, when the store is small enough to sort it whole."""
        offset, cursor, limit = paging(query_args(request, ("offset", "limit", "cursor")))
        prefix = KINDS[kind]
        if cursor is not None:
            cursor, found_keys = await self._walk(prefix, cursor, limit)
            found = await self.store.get_many(found_keys)
            return json_reply(request, 200, {
                "items": [entry_json(k, found[k]) for k in sorted(found)], "limit": limit,
                "next_cursor": cursor})
        size = await self.store.size()
        if size > web.OFFSET_KEYS:
            raise too_many("keys", size)
        names, cursor = [], "0"
        while True:
            cursor, found_keys = await self.store.scan(prefix, cursor, 1000)
            names += found_keys
            if cursor == "0":
                break
        names = sorted(set(names))
        found = await self.store.get_many(names[offset:offset + limit])
        items = [entry_json(k, found[k]) for k in names[offset:offset + limit] if k in found]
        return json_reply(request, 200, offset_page(items, offset, limit, total=len(names)))

    async def _walk(self, prefix, cursor, limit):
        """SCAN steps from `cursor` until about `limit` keys are found, the walk ends, or
        WALK_BUDGET keys were looked at; a step that finds nothing makes the next one bigger
        (up to 1,000 keys), so that sparse keys (groups among a million hosts) come quickly."""
        names, count, looked = [], limit, 0
        while looked < WALK_BUDGET:
            cursor, found = await self.store.scan(prefix, cursor, count)
            names += found
            looked += count
            if cursor == "0" or len(names) >= limit:
                break
            count = min(1000, count * 4) if not found else max(1, limit - len(names))
        return cursor, sorted(set(names))

    @app.route("/api/v1/hosts/<mac>", methods=["GET", "PUT", "PATCH", "DELETE"])
    def host(self, request, mac):
        return self._entry(request, mac_key(mac))

    @app.route("/api/v1/clients/<cid>", methods=["GET", "PUT", "PATCH", "DELETE"])
    def client(self, request, cid):
        return self._entry(request, client_key(cid))

    @app.route("/api/v1/groups/<name>", methods=["GET", "PUT", "PATCH", "DELETE"])
    def group(self, request, name):
        return self._entry(request, group_key(name))

    @app.route("/api/v1/classes/<name>", methods=["GET", "PUT", "PATCH", "DELETE"])
    def client_class(self, request, name):
        return self._entry(request, class_key(name))

    @app.route("/api/v1/subnets/<network>/<prefix>", methods=["GET", "PUT", "PATCH", "DELETE"])
    def subnet(self, request, network, prefix):
        return self._entry(request, subnet_key("%s/%s" % (network, prefix)))

    @app.route("/api/v1/subnets6/<network>/<prefix>",
               methods=["GET", "PUT", "PATCH", "DELETE"])
    def subnet6(self, request, network, prefix):
        """The network in any form RFC 4291 allows; the key in RFC 5952 form (inputs.py)."""
        return self._entry(request, subnet6_key("%s/%s" % (network, prefix)))

    @app.route("/api/v1/duids/<duid>", methods=["GET", "PUT", "PATCH", "DELETE"])
    def duid_host(self, request, duid):
        return self._entry(request, duid_key(duid))

    async def _entry(self, request, key):
        method = request.method
        if method in (b"GET", b"HEAD"):  # werkzeug routes HEAD wherever GET goes
            fields = await self.store.get(key)
            if fields is None:
                raise self._missing(key)
            return json_reply(request, 200, entry_json(key, fields))
        self._authorize(request)
        if method == b"DELETE":
            if key != keys.DEFAULT_GROUP and await self.store.get(key) is None:
                raise self._missing(key)
            await check_delete(self.store, key)
            self.pools.forget()
            if not await self.store.delete(key):
                raise self._missing(key)
            return empty_reply(request)
        patch = method == b"PATCH"
        body = json_body(request)
        current = await self.store.get(key)
        if patch and current is None:
            raise self._missing(key)
        after, sets, removes = plan(key, body, current, patch)
        if key.startswith(POOL_KEYS):
            self.pools.forget()
        await check_write(self.store, key, current, after, self.link)
        result = current
        if sets or not patch:
            result = await self.store.put(key, sets, "merge" if patch else "replace")
        if removes:
            result = await self.store.put(key, dict.fromkeys(removes, ""), "remove")
        entry = entry_json(key, result or {})
        if key.startswith(NETWORK_KEYS):
            warnings = await network_warnings(self.store)
            if warnings:
                entry["warnings"] = warnings
        return json_reply(request, 201 if current is None else 200, entry)

    def _missing(self, key):
        return ApiError(404, "no such %s" % noun(key), ["no " + key])

    # the seed's pool hash

    @app.route("/api/v1/pool", methods=["GET"])
    async def pool(self, request):
        """Whole (with `free`) while small; by cursor (HSCAN steps), always."""
        _, cursor, limit = paging(query_args(request, ("limit", "cursor")))
        size = await self.store.hash_size(keys.SEED_POOL)
        if cursor is not None:
            cursor, pool = await self.store.hash_scan(keys.SEED_POOL, cursor, limit)
            return json_reply(request, 200, {"addresses": _addresses(pool), "size": size,
                                             "next_cursor": cursor})
        if size > web.OFFSET_KEYS:
            raise too_many("addresses", size)
        pool = (await self.store.get(keys.SEED_POOL)) or {}
        return json_reply(request, 200, {"addresses": _addresses(pool), "size": len(pool),
                                         "free": sum(1 for owner in pool.values() if not owner)})

    @app.route("/api/v1/pool/<address>", methods=["PUT", "DELETE"])
    async def pool_address(self, request, address):
        self._authorize(request)
        ip = ipv4(address)
        owner = await self.store.field(keys.SEED_POOL, ip)
        if request.method == b"PUT":
            if owner is None:  # judged as the one address it adds (the rest is unchanged)
                await check_write(self.store, keys.SEED_POOL, {}, {ip: ""}, self.link)
                await self.store.put(keys.SEED_POOL, {ip: ""}, "merge")
            return json_reply(request, 201 if owner is None else 200,
                              {"address": ip, "owner": owner or ""})
        force = query_args(request, ("force",)).get("force", "") in ("1", "true", "yes")
        check_pool_removal({} if owner is None else {ip: owner}, [ip], force)
        await self.store.put(keys.SEED_POOL, {ip: ""}, "remove")
        return empty_reply(request)
