"""The HTTP admin API (Klein): JSON under /api/v1, the seed's legacy `POST /` query, /metrics.

Knows the routes, what PUT and PATCH mean for a hash, bearer-token authentication for writes,
and how a legacy query becomes a DHCP message answered by DHCPServer.resolve, the same code
path as a packet. Whether a write is valid is validation.py's to say; its Invalid is answered
as the JSON error. Works on IAdmin (store.py), the very store object the DHCP server
uses, so a write takes effect on the next packet. Keys are the Redis contract's
(docs/redis.md); the routes are described in OPENAPI (served at /api/v1/openapi.json) and
docs/api.md.
"""

import hmac
import io
import ipaddress
import json
import os
import re

from klein import Klein
from twisted.logger import Logger
from twisted.web import server
from werkzeug.exceptions import HTTPException

from apidhcpd import __version__
from apidhcpd.admin import metrics
from apidhcpd.admin.validation import (
    Invalid,
    check_delete,
    check_fields,
    check_pool_removal,
    check_write,
    client_key,
    group_key,
    ipv4,
    network_warnings,
    normalise_mac,
    noun,
    subnet_key,
)
from apidhcpd.dhcp4 import options as opt
from apidhcpd.dhcp4.message import Message
from apidhcpd.ha.heartbeat import public_reason
from apidhcpd.inventory import allocation
from apidhcpd.store.contract import StoreUnavailable
from apidhcpd.store.keys import HOST_PREFIXES
from apidhcpd.store.pools import PoolFigures

log = Logger()

LEASE_STATES = ("offered", "bound", "declined")
MAX_BODY = 1 << 20  # bytes of a request body; more is 413, before it is read (AdminSite)
MAX_FIELDS = 1000  # names in one JSON object (no hash of the contract has nearly as many)
IDLE_TIMEOUT = 30  # seconds an API connection may stay silent
PROXY_HEADERS = (b"forwarded", b"x-forwarded-for", b"x-real-ip")
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
OFFSET_KEYS = 10_000  # above this many keys (or leases, or pool addresses), page by cursor
WALK_BUDGET = 100_000  # keys one cursor page may look at (SCAN steps of up to 1,000)
LEASE_STEP, LEASE_BUDGET = 500, 20_000  # leases per store call, and per filtered page
KINDS = {"hosts": "mac:", "clients": "client:", "groups": "group:", "subnets": "subnet:"}
METHODS = {"mac": "mac", "client": "client", "relay": "relay", "remote": "relay"}
# the seed's dhcp-api said how it found the client in these words (its Go `Method` string)
SEED_METHODS = {"client": "ByClientID", "mac": "ByHardwareAddress", "dynamic": "Dynamic",
                "relay": "ByRelayAgent"}
NANOSECONDS = 1_000_000_000  # a Go time.Duration counts them
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})+$")


class ApiError(Invalid):
    """An Invalid with response headers; every Invalid is answered as
    {"error": error, "details": [...]} with `status`."""

    def __init__(self, status: int, error: str, details=(), headers=None):
        super().__init__(status, error, details)
        self.headers = headers or {}


# start-up (tap.py)

def parse_listen(text: str) -> tuple[str, int] | None:
    """`--api-listen`: `host:port` (`[v6]:port`) -> (host, port); `none` -> None."""
    if text.strip().lower() == "none":
        return None
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        number = -1
    if not sep or not 0 < number < 65536:
        raise ValueError("bad --api-listen %r (use host:port, e.g. 127.0.0.1:8080, or none)"
                         % text)
    return host, number


def parse_origins(text: str) -> tuple[str, ...]:
    """`--api-allowed-origins`: a comma list of scheme://host[:port] -> a tuple."""
    origins = []
    for item in filter(None, (part.strip().rstrip("/") for part in text.split(","))):
        scheme, sep, rest = item.partition("://")
        if scheme not in ("http", "https") or not sep or not rest or "/" in rest:
            raise ValueError("bad --api-allowed-origins entry %r (use scheme://host[:port], "
                             "e.g. https://ops.example.net)" % item)
        origins.append(item)
    return tuple(origins)


def read_token(path: str | None) -> str | None:
    """The bearer token from `--api-token-file` (None without one); ValueError if unusable."""
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            token = f.read().strip()
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError("cannot read --api-token-file %s: %s" % (
            path, getattr(e, "strerror", None) or e))
    if not token or any(c.isspace() for c in token):
        raise ValueError("--api-token-file %s must hold one token (non-empty, no spaces)" % path)
    return token


# PUT and PATCH

def _plan(key: str, body: dict, current: dict | None, patch: bool):
    """A PUT (replace) or PATCH (merge; null removes a field) as (hash afterwards, fields to
    set, fields to remove). A PUT on a host keeps what the server wrote: `ts`, and a dynamic
    lease (`ip` + `dynamic`) unless the body names an `ip`, which makes it a reservation."""
    check_fields(key, body, nullable=patch)
    current = current or {}
    is_host = key.startswith(HOST_PREFIXES)
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


# output

def _json(request, status: int, body) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"application/json")
    return json.dumps(body, sort_keys=True).encode() + b"\n"


def _empty(request, status: int = 204) -> bytes:
    request.setResponseCode(status)
    return b""


def _entry(key: str, fields: dict) -> dict:
    return {"key": key, "id": key.split(":", 1)[1], "fields": fields}


def _lease(lease) -> dict:
    return {"ip": lease.ip, "mac": lease.mac, "state": lease.state, "expires": lease.expires,
            "relay": lease.relay}


def _addresses(pool) -> list:
    return [{"address": ip, "owner": pool[ip]} for ip in sorted(pool, key=_address_order)]


def _address_order(ip: str):
    try:
        return (0, allocation.ip_to_int(ip), ip)
    except OSError:
        return (1, 0, ip)


def _query(request, allowed) -> dict[str, str]:
    args = {k.decode("utf-8", "replace"): v[-1].decode("utf-8", "replace")
            for k, v in request.args.items()}
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        raise ApiError(400, "unknown query parameter", ["%s (use %s)" % (
            ", ".join(unknown), ", ".join(sorted(allowed)))])
    return args


def _paging(args) -> tuple[int | None, str | None, int]:
    """(offset, cursor, limit): offset paging (`offset`, the default) or a cursor walk
    (`cursor`, "0" to start); not both."""
    values = []
    for name, default, low, high in (("offset", 0, 0, None), ("limit", DEFAULT_LIMIT, 1,
                                                                MAX_LIMIT)):
        text = args.get(name, str(default))
        if not text.isdigit() or int(text) < low or (high and int(text) > high):
            raise ApiError(400, "bad %s" % name, ["%s must be an integer from %d%s" % (
                name, low, " to %d" % high if high else "")])
        values.append(int(text))
    cursor = args.get("cursor")
    if cursor is not None:
        if "offset" in args:
            raise ApiError(400, "bad paging", ["use offset or cursor, not both"])
        if not cursor.isdigit() or len(cursor) > 20:
            raise ApiError(400, "bad cursor", ["cursor is the next_cursor of the last page, "
                                               "or 0 to start"])
        return None, cursor, values[1]
    return values[0], None, values[1]


def _page(items, offset, limit, total=None) -> dict:
    """An offset page of `items` (all of them), or of a page already cut when `total`."""
    if total is None:
        return {"items": items[offset:offset + limit], "total": len(items), "offset": offset,
                "limit": limit}
    return {"items": items, "total": total, "offset": offset, "limit": limit}


def _too_many(what: str, count: int) -> ApiError:
    return ApiError(400, "inventory too large for offset paging", [
        "%d %s (offset paging sorts them all; it stops at %d): page with ?cursor=0 and then "
        "each answer's next_cursor" % (count, what, OFFSET_KEYS)])


def _is_loopback(request) -> bool:
    """From this host, and not forwarded by a proxy on it (which would make anyone local)."""
    if any(request.requestHeaders.hasHeader(name) for name in PROXY_HEADERS):
        return False
    host = getattr(request.getClientAddress(), "host", None)
    try:
        address = ipaddress.ip_address(host)
    except (TypeError, ValueError):
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def _json_body(request) -> dict:
    """The request's JSON object: 415 without a JSON content type, 413 over MAX_BODY bytes or
    MAX_FIELDS names, 400 when it is not strict UTF-8 JSON (a byte-order mark, a lone
    surrogate, nesting deeper than the parser's recursion limit) or not an object."""
    kind = (request.getHeader(b"content-type") or b"").split(b";")[0].strip().lower()
    if not (kind == b"application/json" or (kind.startswith(b"application/")
                                            and kind.endswith(b"+json"))):
        raise ApiError(415, "send JSON", ["Content-Type must be application/json"])
    length = request.getHeader(b"content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise _too_large()
    data = request.content.read(MAX_BODY + 1)
    if len(data) > MAX_BODY:
        raise _too_large()
    try:
        text = data.decode("utf-8")
        if text.startswith("\ufeff"):
            raise ValueError("a byte-order mark is not JSON (RFC 8259 8.1)")
        body = json.loads(text)
        # a lone surrogate (\ud800) parses, and fails wherever the text is encoded later
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except RecursionError:
        raise ApiError(400, "body is not JSON", ["nested too deeply"])
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, UnicodeEncodeError
        raise ApiError(400, "body is not JSON", [_short(e)])
    if not isinstance(body, dict):
        raise ApiError(400, "body must be a JSON object", [])
    if len(body) > MAX_FIELDS:
        raise ApiError(413, "body too large", ["at most %d fields" % MAX_FIELDS])
    return body


def _short(error: Exception) -> str:
    text = str(error)
    return text if len(text) <= 200 else text[:200] + "..."


def _too_large() -> ApiError:
    return ApiError(413, "body too large", ["at most %d bytes" % MAX_BODY])


class BoundedRequest(server.Request):
    """A request whose body is refused with 413 as soon as it is known to exceed MAX_BODY
    (its Content-Length, or the bytes received so far), before it is buffered whole."""

    refused = False

    def gotLength(self, length):
        if length is not None and length > MAX_BODY:
            self.content = io.BytesIO()
            self._refuse()
            return
        super().gotLength(length)
        self.received = 0

    def handleContentChunk(self, data):
        if self.refused:
            return
        self.received += len(data)
        if self.received > MAX_BODY:
            self._refuse()
            return
        super().handleContentChunk(data)

    def requestReceived(self, command, path, version):
        if not self.refused:
            super().requestReceived(command, path, version)

    def _refuse(self):
        self.refused = True
        body = json.dumps({"error": "body too large",
                           "details": ["at most %d bytes" % MAX_BODY]}).encode() + b"\n"
        self.channel.transport.write(
            b"HTTP/1.1 413 Payload Too Large\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body))
        self.channel.loseConnection()


def legacy_answer(tx, mac: str, client: str | None) -> dict:
    """The seed's response JSON from a transaction's reply and the host it found."""
    reply = tx.reply
    host = tx.lookup.host if tx.lookup else None
    netmask = reply.get(1)
    if host is not None and host.reserved_ip:
        method = METHODS.get(host.key.split(":", 1)[0], "mac")
    else:
        method = "dynamic"
    return {
        "mac": mac, "client": client or "", "ip": reply.yiaddr,
        "hostname": reply.get(12) or "",
        "gateway": ",".join(reply.get(3) or []),
        "netmask": netmask or "",
        "broadcast": reply.get(28) or "",
        "prefix": ipaddress.IPv4Network("0.0.0.0/" + netmask).prefixlen if netmask else None,
        "dns": ",".join(reply.get(6) or []),
        "domain": reply.get(15) or "",
        "ntp": ",".join(reply.get(42) or []),
        "leasetime": reply.get(51),
        "description": host.fields.get("description", "") if host else "",
        "method": method,
        "slave": False,
    }


def seed_answer(answer: dict) -> dict:
    """Our legacy answer in the seed's own types, as its dhcp-daemon decodes them into its Go
    struct: every field a string but `leasetime` (a time.Duration: integer nanoseconds) and
    `slave` (a bool), `method` in the seed's words; absent values are Go's zero values."""
    seed = {name: ("" if value is None else str(value)) for name, value in answer.items()
            if name not in ("leasetime", "slave", "method")}
    seed["leasetime"] = int(answer.get("leasetime") or 0) * NANOSECONDS
    seed["method"] = SEED_METHODS.get(answer["method"], answer["method"])
    seed["slave"] = bool(answer.get("slave"))
    return seed


def _why_no_answer(tx) -> str:
    """The likely reason a well-formed legacy query got no answer (the log has the exact one)."""
    if tx.request.message_type == opt.DISCOVER:
        host = tx.lookup.host
        if host is not None and host.reserved_ip:
            return "reserved address %s is not on %s" % (host.reserved_ip, tx.profile.network)
        return "no free address for group %s" % tx.lookup.group_name
    return "no record of %s for %s (the server is not authoritative)" % (
        tx.request.requested_ip, tx.mac)


class AdminAPI:
    """The admin API on `store` (IStore + IAdmin), answering legacy queries with `server`
    (a DHCPServer) as if they came in on `link`. `token`: the bearer token for writes, or None
    (writes refused). `protocol`: the DHCPProtocol, for its malformed-packet count."""

    app = Klein()

    def __init__(self, store, server, link, token: str | None = None, clock=None,
                 protocol=None, role=lambda: "standalone", allowed_origins=()):
        self.role = role  # e.g. "standby, master-dead" (tap.role)
        self.store = store
        self.server = server
        self.link = link
        self.token = token.encode("utf-8") if token else None
        self.clock = clock if clock is not None else server.clock
        self.protocol = protocol
        # Origin values (scheme://host[:port]) whose pages may send writes and legacy queries
        self.allowed_origins = frozenset(o.rstrip("/").encode() for o in allowed_origins)
        self.pools = PoolFigures(store, self.clock)  # /metrics and /status

    def resource(self):
        return self.app.resource()

    def site(self) -> server.Site:
        """The resource as served: bodies capped (BoundedRequest), idle connections closed."""
        site = server.Site(self.resource(), timeout=IDLE_TIMEOUT)
        site.requestFactory = BoundedRequest
        return site

    def _check_origin(self, request) -> None:
        """403 for a request a web page sent (browsers add Origin to such POSTs, PUTs...),
        unless its origin is one of `allowed_origins`."""
        origin = request.getHeader(b"origin")
        if origin is not None and origin.rstrip(b"/") not in self.allowed_origins:
            raise ApiError(403, "cross-origin request refused", [
                "requests from web pages are refused; allow an origin with "
                "--api-allowed-origins"])

    def now(self) -> int:
        return int(self.clock.seconds())

    def _authorize(self, request) -> None:
        self._check_origin(request)
        if self.token is None:
            raise ApiError(403, "writes are disabled", [
                "start apidhcpd with --api-token-file FILE to allow writes"])
        scheme, _, given = (request.getHeader(b"authorization") or b"").partition(b" ")
        if scheme.lower() != b"bearer" or not given.strip():
            raise ApiError(401, "authentication required",
                           ["send Authorization: Bearer <token>"],
                           {b"www-authenticate": b'Bearer realm="apidhcpd"'})
        if not hmac.compare_digest(given.strip(), self.token):
            raise ApiError(401, "invalid token", [],
                           {b"www-authenticate": b'Bearer realm="apidhcpd", '
                                                 b'error="invalid_token"'})

    # hosts, clients, groups, subnets

    @app.route("/api/v1/<any(hosts, clients, groups, subnets):kind>", methods=["GET"])
    async def list_entries(self, request, kind):
        """By cursor: one bounded walk step (about `limit` entries, in the store's order);
        by offset: sorted by key, when the store is small enough to sort it whole."""
        offset, cursor, limit = _paging(_query(request, ("offset", "limit", "cursor")))
        prefix = KINDS[kind]
        if cursor is not None:
            cursor, keys = await self._walk(prefix, cursor, limit)
            found = await self.store.get_many(keys)
            return _json(request, 200, {"items": [_entry(k, found[k]) for k in sorted(found)],
                                        "limit": limit, "next_cursor": cursor})
        size = await self.store.size()
        if size > OFFSET_KEYS:
            raise _too_many("keys", size)
        keys, cursor = [], "0"
        while True:
            cursor, found = await self.store.scan(prefix, cursor, 1000)
            keys += found
            if cursor == "0":
                break
        keys = sorted(set(keys))
        found = await self.store.get_many(keys[offset:offset + limit])
        items = [_entry(k, found[k]) for k in keys[offset:offset + limit] if k in found]
        return _json(request, 200, _page(items, offset, limit, total=len(keys)))

    async def _walk(self, prefix, cursor, limit):
        """SCAN steps from `cursor` until about `limit` keys are found, the walk ends, or
        WALK_BUDGET keys were looked at; a step that finds nothing makes the next one bigger
        (up to 1,000 keys), so that sparse keys (groups among a million hosts) come quickly."""
        keys, count, looked = [], limit, 0
        while looked < WALK_BUDGET:
            cursor, found = await self.store.scan(prefix, cursor, count)
            keys += found
            looked += count
            if cursor == "0" or len(keys) >= limit:
                break
            count = min(1000, count * 4) if not found else max(1, limit - len(keys))
        return cursor, sorted(set(keys))

    @app.route("/api/v1/hosts/<mac>", methods=["GET", "PUT", "PATCH", "DELETE"])
    def host(self, request, mac):
        return self._entry(request, "mac:" + normalise_mac(mac))

    @app.route("/api/v1/clients/<cid>", methods=["GET", "PUT", "PATCH", "DELETE"])
    def client(self, request, cid):
        return self._entry(request, client_key(cid))

    @app.route("/api/v1/groups/<name>", methods=["GET", "PUT", "PATCH", "DELETE"])
    def group(self, request, name):
        return self._entry(request, group_key(name))

    @app.route("/api/v1/subnets/<network>/<prefix>", methods=["GET", "PUT", "PATCH", "DELETE"])
    def subnet(self, request, network, prefix):
        return self._entry(request, subnet_key("%s/%s" % (network, prefix)))

    async def _entry(self, request, key):
        method = request.method
        if method in (b"GET", b"HEAD"):  # werkzeug routes HEAD wherever GET goes
            fields = await self.store.get(key)
            if fields is None:
                raise self._missing(key)
            return _json(request, 200, _entry(key, fields))
        self._authorize(request)
        if method == b"DELETE":
            if key != "group:default" and await self.store.get(key) is None:
                raise self._missing(key)
            await check_delete(self.store, key)
            self.pools.forget()
            if not await self.store.delete(key):
                raise self._missing(key)
            return _empty(request)
        patch = method == b"PATCH"
        body = _json_body(request)
        current = await self.store.get(key)
        if patch and current is None:
            raise self._missing(key)
        after, sets, removes = _plan(key, body, current, patch)
        if key.startswith(("group:", "subnet:")):
            self.pools.forget()
        await check_write(self.store, key, current, after, self.link)
        result = current
        if sets or not patch:
            result = await self.store.put(key, sets, "merge" if patch else "replace")
        if removes:
            result = await self.store.put(key, dict.fromkeys(removes, ""), "remove")
        entry = _entry(key, result or {})
        if key.startswith(("group:", "subnet:")):
            warnings = await network_warnings(self.store)
            if warnings:
                entry["warnings"] = warnings
        return _json(request, 201 if current is None else 200, entry)

    def _missing(self, key):
        return ApiError(404, "no such %s" % noun(key), ["no " + key])

    async def _hash(self, key) -> dict:
        return (await self.store.get(key)) or {}

    # the seed's pool hash

    @app.route("/api/v1/pool", methods=["GET"])
    async def pool(self, request):
        """Whole (with `free`) while small; by cursor (HSCAN steps), always."""
        _, cursor, limit = _paging(_query(request, ("limit", "cursor")))
        size = await self.store.hash_size("pool")
        if cursor is not None:
            cursor, pool = await self.store.hash_scan("pool", cursor, limit)
            return _json(request, 200, {"addresses": _addresses(pool), "size": size,
                                        "next_cursor": cursor})
        if size > OFFSET_KEYS:
            raise _too_many("addresses", size)
        pool = await self._hash("pool")
        return _json(request, 200, {"addresses": _addresses(pool), "size": len(pool),
                                    "free": sum(1 for owner in pool.values() if not owner)})

    @app.route("/api/v1/pool/<address>", methods=["PUT", "DELETE"])
    async def pool_address(self, request, address):
        self._authorize(request)
        ip = ipv4(address)
        owner = await self.store.field("pool", ip)
        if request.method == b"PUT":
            if owner is None:  # judged as the one address it adds (the rest is unchanged)
                await check_write(self.store, "pool", {}, {ip: ""}, self.link)
                await self.store.put("pool", {ip: ""}, "merge")
            return _json(request, 201 if owner is None else 200,
                         {"address": ip, "owner": owner or ""})
        force = _query(request, ("force",)).get("force", "") in ("1", "true", "yes")
        check_pool_removal({} if owner is None else {ip: owner}, [ip], force)
        await self.store.put("pool", {ip: ""}, "remove")
        return _empty(request)

    # leases

    @app.route("/api/v1/leases", methods=["GET"])
    async def leases(self, request):
        """By offset: expiry order, `total` counted (filtered: while there are few leases);
        by cursor (a position in expiry order): up to `limit` matches among at most
        LEASE_BUDGET leases looked at."""
        args = _query(request, ("offset", "limit", "cursor", "subnet", "state", "mac"))
        offset, cursor, limit = _paging(args)
        tests = []
        if "subnet" in args:
            try:
                network = ipaddress.IPv4Network(args["subnet"], strict=False)
            except ValueError as e:
                raise ApiError(400, "bad subnet", [str(e)])
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
            return _json(request, 200, {"items": items, "limit": limit, "next_cursor": cursor})
        count = await self.store.lease_count()
        if not tests:
            page = await self.store.leases(offset, limit)
            return _json(request, 200, _page([_lease(x) for x in page], offset, limit, count))
        if count > OFFSET_KEYS:
            raise _too_many("leases", count)
        found = [_lease(lease) for lease in await metrics.all_leases(self.store)
                 if all(test(lease) for test in tests)]
        return _json(request, 200, _page(found, offset, limit))

    async def _lease_walk(self, position, limit, tests):
        items, looked = [], 0
        while looked < LEASE_BUDGET:
            batch = await self.store.leases(position, LEASE_STEP)
            for lease in batch:
                position += 1
                if all(test(lease) for test in tests):
                    items.append(_lease(lease))
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
            return _empty(request)
        lease = await self.store.lease_at(ip)
        if lease is None:
            raise ApiError(404, "no lease", ["no lease on %s" % ip])
        return _json(request, 200, _lease(lease))

    # status, metrics, description

    @app.route("/api/v1/status", methods=["GET"])
    async def status(self, request):
        redis, pools = {"ok": True, "error": None}, []
        try:
            await self.store.ping()
            pools = await self.pools.current()
        except StoreUnavailable as e:
            redis = {"ok": False, "error": public_reason(str(e))}
        return _json(request, 200, {"version": __version__, "role": self.role(),
                                    "server_id": self.server.policy.server_id,
                                    "redis": redis, "pools": pools})

    @app.route("/metrics", methods=["GET"])
    async def metrics_page(self, request):
        up, pools = True, []
        try:
            await self.store.ping()
            pools = await self.pools.current()
        except StoreUnavailable:
            up = False
        request.setHeader(b"content-type", metrics.CONTENT_TYPE)
        return metrics.render(
            self.server.counters, pools=pools, store_up=up,
            latency=getattr(self.store, "latency", None),
            store_errors=getattr(self.store, "errors", None),
            malformed=getattr(self.protocol, "malformed", None),
            role=self.role(), version=__version__,
            cache=getattr(self.store, "cache_stats", None),
            pools_age=self.pools.age()).encode()

    @app.route("/api/v1/openapi.json", methods=["GET"])
    def openapi(self, request):
        return _json(request, 200, OPENAPI)

    # the seed's legacy query

    @app.route("/", methods=["POST"])
    async def legacy(self, request):
        """`{"mac", "client"}` without `op` is the seed's query: the seed's answer in its own
        types (seed_answer), and a dynamic address committed at once as a lease, as the
        seed's dhcp-api did (its dhcp-daemon ACKs what it is told and never asks again).
        With `op` it is our own form (the --api-url daemon's): `"op": "discover"` offers,
        `"op": "request"` + `"ip"` commits (an INIT-REBOOT REQUEST), `"op": "release"` +
        `"ip"` releases, `"op": "ping"` checks the store; numbers are numbers. Optional
        `client_id` (option 61, hex) and `giaddr` (the request is placed on that relay's
        subnet). A token is needed only from outside loopback, when one is set."""
        self._check_origin(request)
        if not _is_loopback(request):
            if self.token is None:
                raise ApiError(403, "the legacy query is loopback-only", [
                    "start apidhcpd with --api-token-file FILE to answer it from elsewhere"])
            self._authorize(request)
        body = _json_body(request)
        seed_form = "op" not in body
        op = body.get("op") or "discover"
        if op == "ping":
            await self.store.ping()
            return _json(request, 200, {"ok": True})
        if op not in ("discover", "request", "release"):
            raise ApiError(400, "bad op", ["op is discover (default), request, release or ping"])
        mac = normalise_mac(body.get("mac"))
        client = body.get("client")
        if client is not None and not isinstance(client, str):
            raise ApiError(400, "bad client", ["client is a string (the client's host name)"])
        msg = Message(op=1, xid=int.from_bytes(os.urandom(4), "big"),
                      chaddr=bytes.fromhex(mac.replace(":", "")))
        if op == "discover":
            msg.set(53, opt.DISCOVER)
        elif op == "request":
            msg.set(53, opt.REQUEST)
            msg.set(50, ipv4(body.get("ip"), "ip"))
        else:
            msg.set(53, opt.RELEASE)
            msg.ciaddr = ipv4(body.get("ip"), "ip")
            msg.set(54, self.server.policy.server_id)
        if client:
            try:
                msg.set(12, client)
            except opt.OptionError as e:
                raise ApiError(400, "bad client", [str(e)])
        self._legacy_extensions(msg, body)
        tx = await self.server.resolve(msg, self.link)
        if op == "release":
            return _empty(request)
        if tx.reply is None:
            if tx.lookup is None or tx.profile is None:
                raise ApiError(503, "no answer", ["the store did not answer in time"])
            raise ApiError(404, "no answer", [_why_no_answer(tx)])
        if tx.reply.message_type == opt.NAK:
            raise ApiError(409, "nak", [tx.reply.get(56) or ""])
        if not seed_form:
            return _json(request, 200, legacy_answer(tx, mac, client))
        host = tx.lookup.host
        if tx.reply.message_type == opt.OFFER and not (host and host.reserved_ip):
            tx = await self._commit_offer(msg, tx.reply)
        return _json(request, 200, seed_answer(legacy_answer(tx, mac, client)))

    async def _commit_offer(self, discover, offer):
        """The REQUEST a client would send for `offer` (SELECTING): the seed's query binds a
        dynamic address at once."""
        msg = Message(op=1, xid=discover.xid, chaddr=discover.chaddr, giaddr=discover.giaddr)
        msg.set(53, opt.REQUEST)
        msg.set(50, offer.yiaddr)
        msg.set(54, offer.server_id)
        for code in (12, 61, 82):
            if code in discover.options:
                msg.options[code] = discover.options[code]
        tx = await self.server.resolve(msg, self.link)
        if tx.reply is None or tx.reply.message_type != opt.ACK:
            reason = tx.reply.get(56) if tx.reply is not None else "the commit got no answer"
            raise ApiError(409, "not committed", [reason or "the address was not committed"])
        return tx

    def _legacy_extensions(self, msg, body) -> None:
        """`client_id` -> option 61; `giaddr` -> the relay address (0.0.0.0: none), which must
        be a trusted relay when --trusted-relays is set (the server would drop it)."""
        client_id = body.get("client_id")
        if client_id is not None:
            text = client_id.strip() if isinstance(client_id, str) else ""
            if not _HEX.match(text) or len(text) > 510:
                raise ApiError(400, "bad client_id", ["client_id is option 61 as hex, type "
                                                      "byte first, 2 to 255 bytes"])
            try:
                msg.set(61, bytes.fromhex(text))
            except opt.OptionError as e:
                raise ApiError(400, "bad client_id", [str(e)])
        if body.get("giaddr") is not None:
            msg.giaddr = ipv4(body["giaddr"], "giaddr")
            trusted = self.server.policy.trusted_relays
            if trusted is not None and msg.giaddr != "0.0.0.0" and msg.giaddr not in trusted:
                raise ApiError(403, "relay not trusted", [
                    "giaddr %s is not one of --trusted-relays" % msg.giaddr])

    # errors

    @app.handle_errors(Invalid)
    def _api_error(self, request, failure):
        error = failure.value
        for name, value in getattr(error, "headers", {}).items():
            request.setHeader(name, value)
        return _json(request, error.status, {"error": error.error, "details": error.details})

    @app.handle_errors(StoreUnavailable)
    def _store_error(self, request, failure):
        log.info("admin API: {method} {path}: {error}", method=request.method.decode(),
                 path=request.path.decode("utf-8", "replace"), error=failure.getErrorMessage())
        return _json(request, 503, {"error": "store unavailable",
                                    "details": [public_reason(failure.getErrorMessage())]})

    @app.handle_errors(HTTPException)
    def _http_error(self, request, failure):
        error = failure.value
        if getattr(error, "new_url", None):  # werkzeug's redirect (a trailing slash)
            request.setHeader(b"location", error.new_url.encode())
        if error.code == 405 and getattr(error, "valid_methods", None):
            request.setHeader(b"allow", ", ".join(error.valid_methods).encode())
        return _json(request, error.code, {"error": error.name.lower(),
                                           "details": [request.path.decode("utf-8", "replace")]})

    @app.handle_errors(Exception)
    def _internal_error(self, request, failure):
        log.failure("admin API: {method} {path}", failure,
                    method=request.method.decode(), path=request.path.decode("utf-8", "replace"))
        return _json(request, 500, {"error": "internal error",
                                    "details": ["see the server's log"]})


# The OpenAPI 3 description, served at /api/v1/openapi.json.

def _ref(name):
    return {"$ref": "#/components/schemas/" + name}


def _response(description, schema=None, media="application/json"):
    response = {"description": description}
    if schema is not None:
        response["content"] = {media: {"schema": schema}}
    return response


def _operation(tag, summary, responses, params=(), body=None, write=False, query=()):
    operation = {"tags": [tag], "summary": summary,
                 "parameters": list(params) + list(query),
                 "responses": dict(responses, default=_response(
                     "An error: 400 bad input, 401/403 authentication, 404 missing, 409 "
                     "conflict, 415 not JSON, 503 store unavailable", _ref("Error")))}
    if body is not None:
        operation["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": body}}}
    if write:
        operation["security"] = [{"bearer": []}]
    return operation


def _param(name, description, where="path", schema=None):
    return {"name": name, "in": where, "required": where == "path", "description": description,
            "schema": schema or {"type": "string"}}


_LIMIT = _param("limit", "At most this many items (1-%d, default %d); by cursor, about this "
                         "many." % (MAX_LIMIT, DEFAULT_LIMIT), "query",
                {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT})
_CURSOR = _param("cursor", "Page by cursor: 0 to start, then each page's next_cursor until it "
                           "is 0. Each page costs the store about one page, whatever the "
                           "inventory's size.", "query", {"type": "string", "pattern": "^[0-9]+$"})
_PAGING = (_param("offset", "Skip this many items (offset paging: sorted, with a total; "
                            "refused above %d keys)." % OFFSET_KEYS, "query",
                  {"type": "integer", "minimum": 0}), _LIMIT, _CURSOR)


def _collection(tag, noun, params):
    entry = _response("The %s." % noun, _ref("Entry"))
    return {
        "get": _operation(tag, "Read a %s." % noun, {"200": entry}, params),
        "put": _operation(tag, "Create or replace a %s (201 created, 200 replaced)." % noun,
                          {"200": entry, "201": entry}, params, _ref("Fields"), True),
        "patch": _operation(tag, "Merge fields into a %s; null removes a field." % noun,
                            {"200": entry}, params, _ref("Patch"), True),
        "delete": _operation(tag, "Delete a %s." % noun, {"204": _response("Deleted.")},
                             params, write=True),
    }


def _listing(tag, noun):
    return {"get": _operation(tag, "List %s, by key." % noun,
                              {"200": _response("One page.", _ref("EntryList"))},
                              query=_PAGING)}


_STRING = {"type": "string"}
_INTEGER = {"type": "integer"}

OPENAPI = {
    "openapi": "3.0.3",
    "info": {"title": "apidhcpd admin API", "version": __version__,
             "description": "The inventory (hosts, clients, groups, subnets, the pool hash), "
                            "leases and status of apidhcpd; the seed's legacy query at POST /. "
                            "Reads are open; writes need `Authorization: Bearer <token>` "
                            "(--api-token-file). See docs/api.md."},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {"type": "object", "required": ["error", "details"],
                      "additionalProperties": False,
                      "properties": {"error": _STRING,
                                     "details": {"type": "array", "items": _STRING}}},
            "Fields": {"type": "object", "additionalProperties": _STRING,
                       "description": "A hash of the Redis contract (docs/redis.md): field "
                                      "name -> string value."},
            "Patch": {"type": "object",
                      "additionalProperties": {"type": "string", "nullable": True}},
            "Entry": {"type": "object", "required": ["key", "id", "fields"],
                      "additionalProperties": False,
                      "properties": {"key": _STRING, "id": _STRING, "fields": _ref("Fields"),
                                     "warnings": {
                                         "type": "array", "items": _STRING,
                                         "description": "After a group or subnet write: "
                                                        "groups whose gateway lies on none "
                                                        "of the subnets they serve."}}},
            "EntryList": {"type": "object", "required": ["items", "limit"],
                          "additionalProperties": False,
                          "description": "By offset: total and offset; by cursor: "
                                         "next_cursor (0 when the walk is over).",
                          "properties": {"items": {"type": "array", "items": _ref("Entry")},
                                         "total": _INTEGER, "offset": _INTEGER,
                                         "limit": _INTEGER, "next_cursor": _STRING}},
            "Lease": {"type": "object", "required": ["ip", "mac", "state", "expires", "relay"],
                      "additionalProperties": False,
                      "properties": {"ip": _STRING, "mac": _STRING,
                                     "state": {"type": "string", "enum": list(LEASE_STATES)},
                                     "expires": _INTEGER, "relay": _STRING}},
            "LeaseList": {"type": "object", "required": ["items", "limit"],
                          "additionalProperties": False,
                          "description": "By offset: total and offset; by cursor: "
                                         "next_cursor (0 when the walk is over).",
                          "properties": {"items": {"type": "array", "items": _ref("Lease")},
                                         "total": _INTEGER, "offset": _INTEGER,
                                         "limit": _INTEGER, "next_cursor": _STRING}},
            "PoolAddress": {"type": "object", "required": ["address", "owner"],
                            "additionalProperties": False,
                            "properties": {"address": _STRING, "owner": _STRING}},
            "Pool": {"type": "object", "required": ["addresses", "size"],
                     "additionalProperties": False,
                     "description": "Whole: with free; by cursor: with next_cursor.",
                     "properties": {"addresses": {"type": "array",
                                                  "items": _ref("PoolAddress")},
                                    "size": _INTEGER, "free": _INTEGER,
                                    "next_cursor": _STRING}},
            "PoolUsage": {"type": "object", "additionalProperties": False,
                          "required": ["name", "size", "bound", "offered", "declined",
                                       "utilisation"],
                          "properties": {"name": _STRING, "size": _INTEGER,
                                         "bound": _INTEGER, "offered": _INTEGER,
                                         "declined": _INTEGER,
                                         "utilisation": {"type": "number"}}},
            "Status": {"type": "object", "additionalProperties": False,
                       "required": ["version", "role", "server_id", "redis", "pools"],
                       "properties": {
                           "version": _STRING,
                           "role": {"type": "string"},
                           "server_id": _STRING,
                           "redis": {"type": "object", "required": ["ok", "error"],
                                     "additionalProperties": False,
                                     "properties": {"ok": {"type": "boolean"},
                                                    "error": {"type": "string",
                                                              "nullable": True}}},
                           "pools": {"type": "array", "items": _ref("PoolUsage")}}},
            "LegacyQuery": {"type": "object", "required": ["mac"],
                            "properties": {
                                "mac": _STRING,
                                "client": {"type": "string", "nullable": True},
                                "op": {"type": "string",
                                       "enum": ["discover", "request", "release", "ping"]},
                                "ip": _STRING,
                                "client_id": {"type": "string", "nullable": True,
                                              "description": "Option 61 as hex."},
                                "giaddr": {"type": "string", "nullable": True,
                                           "description": "A relay address: the request "
                                                          "is placed on its subnet."}}},
            "LegacyAnswer": {
                "type": "object", "additionalProperties": False,
                "required": ["mac", "client", "hostname", "ip", "gateway", "netmask",
                             "broadcast", "prefix", "dns", "domain", "ntp", "leasetime",
                             "description", "method", "slave"],
                "properties": {
                    "mac": _STRING, "client": _STRING, "hostname": _STRING, "ip": _STRING,
                    "gateway": _STRING, "netmask": _STRING, "broadcast": _STRING,
                    "prefix": {"type": "integer", "nullable": True},
                    "dns": _STRING, "domain": _STRING, "ntp": _STRING,
                    "leasetime": {"type": "integer", "nullable": True},
                    "description": _STRING,
                    "method": {"type": "string", "enum": ["client", "mac", "relay", "dynamic"]},
                    "slave": {"type": "boolean"}}},
            "SeedAnswer": {
                "type": "object", "additionalProperties": False,
                "description": "The answer to a query without `op`, in the seed's own types "
                               "(its Go dhcpResponse struct): strings, `leasetime` a Go "
                               "time.Duration in nanoseconds, `slave` a bool.",
                "required": ["mac", "client", "hostname", "ip", "gateway", "netmask",
                             "broadcast", "prefix", "dns", "domain", "ntp", "leasetime",
                             "description", "method", "slave"],
                "properties": {
                    "mac": _STRING, "client": _STRING, "hostname": _STRING, "ip": _STRING,
                    "gateway": _STRING, "netmask": _STRING, "broadcast": _STRING,
                    "prefix": _STRING, "dns": _STRING, "domain": _STRING, "ntp": _STRING,
                    "leasetime": {"type": "integer", "description": "Nanoseconds."},
                    "description": _STRING,
                    "method": {"type": "string", "enum": ["ByClientID", "ByHardwareAddress",
                                                          "ByRelayAgent", "Dynamic"]},
                    "slave": {"type": "boolean"}}},
            "Ok": {"type": "object", "required": ["ok"],
                   "properties": {"ok": {"type": "boolean"}}},
        },
    },
    "paths": {
        "/api/v1/hosts": _listing("hosts", "hosts (mac:<mac>)"),
        "/api/v1/hosts/{mac}": _collection("hosts", "host", [_param(
            "mac", "The MAC address; any common form, stored as aa:bb:cc:dd:ee:ff.")]),
        "/api/v1/clients": _listing("clients", "clients (client:<id>)"),
        "/api/v1/clients/{id}": _collection("clients", "client", [_param(
            "id", "The client id: option 61 as lower-case hex, or the host name (option 12).")]),
        "/api/v1/groups": _listing("groups", "groups (group:<name>)"),
        "/api/v1/groups/{name}": _collection("groups", "group", [_param(
            "name", "The group name.")]),
        "/api/v1/subnets": _listing("subnets", "subnets (subnet:<network>/<prefix>)"),
        "/api/v1/subnets/{network}/{prefix}": _collection("subnets", "subnet", [
            _param("network", "The network address."),
            _param("prefix", "The prefix length.", schema=_INTEGER)]),
        "/api/v1/pool": {"get": _operation(
            "pool", "The seed's pool hash: its addresses and their owners (whole up to %d "
                    "addresses, else by cursor)." % OFFSET_KEYS,
            {"200": _response("The pool.", _ref("Pool"))}, query=[_LIMIT, _CURSOR])},
        "/api/v1/pool/{address}": {
            "put": _operation("pool", "Add an address (201; 200 when already there).",
                              {"200": _response("Present.", _ref("PoolAddress")),
                               "201": _response("Added.", _ref("PoolAddress"))},
                              [_param("address", "An IPv4 address.")], write=True),
            "delete": _operation("pool", "Remove an address (409 while it has an owner, "
                                         "unless force=true).",
                                 {"204": _response("Removed.")},
                                 [_param("address", "An IPv4 address.")], write=True,
                                 query=[_param("force", "Remove even if owned.", "query",
                                               {"type": "boolean"})])},
        "/api/v1/leases": {"get": _operation(
            "leases", "Leases in expiry order, filtered.",
            {"200": _response("One page.", _ref("LeaseList"))},
            query=list(_PAGING) + [
                _param("subnet", "Only addresses in this network (CIDR).", "query"),
                _param("state", "Only leases in this state.", "query",
                       {"type": "string", "enum": list(LEASE_STATES)}),
                _param("mac", "Only leases of this MAC.", "query")])},
        "/api/v1/leases/{ip}": {
            "get": _operation("leases", "The lease on an address.",
                              {"200": _response("The lease.", _ref("Lease"))},
                              [_param("ip", "An IPv4 address.")]),
            "delete": _operation("leases", "End the lease on an address, whoever holds it.",
                                 {"204": _response("Ended.")},
                                 [_param("ip", "An IPv4 address.")], write=True)},
        "/api/v1/status": {"get": _operation(
            "status", "Version, role, Redis health and pool utilisation.",
            {"200": _response("The status.", _ref("Status"))})},
        "/api/v1/openapi.json": {"get": _operation(
            "status", "This description.", {"200": _response("OpenAPI 3.", {"type": "object"})})},
        "/metrics": {"get": _operation(
            "status", "Prometheus metrics.",
            {"200": _response("Text exposition format 0.0.4.", _STRING, "text/plain")})},
        "/": {"post": _operation(
            "legacy", "The seed's query: what a DHCP client with this MAC (and host name) "
                      "gets. Without op: the seed's answer in its own types, a dynamic address "
                      "committed at once. With op (our form): op=discover offers, op=request "
                      "commits an address, op=release releases it. Needs the token only from "
                      "outside loopback, when a token is set.",
            {"200": _response("The answer (or {\"ok\": true} for op=ping).",
                              {"oneOf": [_ref("SeedAnswer"), _ref("LegacyAnswer"),
                                         _ref("Ok")]}),
             "204": _response("Released (op=release).")},
            body=_ref("LegacyQuery"))},
    },
}
