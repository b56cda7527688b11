"""IStore on Redis through txredisapi: the key schema (docs/redis.md) and the Lua scripts.

The only module that imports txredisapi. Every call gets a deadline; while no connection is up,
calls fail at once with StoreUnavailable instead of queueing behind a dead link. Allocation runs
in Lua scripts (apidhcpd/lua/), so servers sharing one Redis never hand out an address twice.
"""

import os
from urllib.parse import parse_qs, unquote, urlsplit

import attr
import txredisapi
from twisted.internet import defer
from twisted.internet.endpoints import TCP4ClientEndpoint, UNIXClientEndpoint
from twisted.logger import Logger
from zope.interface import implementer

from apidhcpd.store import Conflict, Host, IAdmin, IStore, Lease, Lookup, StoreUnavailable
from apidhcpd.timeouts import race

log = Logger()

_LUA_DIR = os.path.join(os.path.dirname(__file__), "lua")


def _script(name: str) -> str:
    with open(os.path.join(_LUA_DIR, "common.lua")) as common, \
            open(os.path.join(_LUA_DIR, name + ".lua")) as body:
        return common.read() + "\n" + body.read()


SCRIPTS = {name: _script(name) for name in (
    "lookup", "lease", "offer", "commit", "release", "release_offer", "decline", "reclaim",
    "put", "end_lease", "leases")}


@attr.s(frozen=True)
class RedisURL:
    """A parsed `--redis` value: redis://[:password@]host[:port][/db] or unix:///path[?db=N]."""

    host: str = attr.ib(default="127.0.0.1")
    port: int = attr.ib(default=6379)
    path: str = attr.ib(default=None)
    db: int = attr.ib(default=0)
    password: str = attr.ib(default=None)

    @classmethod
    def parse(cls, url: str) -> "RedisURL":
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        try:
            if parts.scheme == "unix":
                if not parts.path:
                    raise ValueError("unix URL needs a socket path")
                return cls(path=parts.path, db=int(query.get("db", ["0"])[0]),
                           password=unquote(parts.password) if parts.password else None)
            if parts.scheme == "redis":
                db = parts.path.strip("/")
                return cls(host=parts.hostname or "127.0.0.1", port=parts.port or 6379,
                           db=int(db) if db else 0,
                           password=unquote(parts.password) if parts.password else None)
        except ValueError as e:
            raise ValueError("bad Redis URL %r: %s" % (url, e))
        if parts.scheme in ("redis+sentinel", "rediss"):
            raise ValueError("%s:// URLs are not supported yet (planned: Sentinel in the "
                             "high-availability issue)" % parts.scheme)
        raise ValueError("bad Redis URL %r: use redis://host:port/db or unix:///path?db=N"
                         % (url,))


def _pairs(flat) -> dict:
    return dict(zip(flat[::2], flat[1::2])) if flat else {}


def _source_args(source):
    return ["1" if source.seed_pool else "0", source.name] + [
        "%d-%d" % r for r in source.ranges]


@implementer(IStore, IAdmin)
class RedisStore:
    """IStore on one Redis server, through a lazy txredisapi connection pool."""

    def __init__(self, url: RedisURL, reactor, *, timeout: float = 1.0, poolsize: int = 4):
        self.url = url
        self.reactor = reactor
        self.timeout = timeout
        self.factory = txredisapi.RedisFactory(
            url.path or "%s:%d" % (url.host, url.port), url.db, poolsize, isLazy=True,
            handler=txredisapi.UnixConnectionHandler if url.path else txredisapi.ConnectionHandler,
            password=url.password, replyTimeout=60, convertNumbers=False)
        self.factory.maxDelay = 1
        self.factory.initialDelay = 0.2
        self.redis = self.factory.handler

    def connect(self) -> None:
        if self.url.path:
            endpoint = UNIXClientEndpoint(self.reactor, self.url.path, timeout=self.timeout)
        else:
            endpoint = TCP4ClientEndpoint(self.reactor, self.url.host, self.url.port,
                                          timeout=self.timeout)
        self.factory.startConnecting(endpoint)

    def disconnect(self):
        return self.factory.disconnect()

    @property
    def connected(self) -> bool:
        return self.factory.size > 0

    def _call(self, method: str, *args):
        """Run one command under the deadline; StoreUnavailable when Redis is away or slow."""
        if not self.connected:
            return defer.fail(StoreUnavailable("no connection to Redis at %s"
                                               % (self.url.path or self.url.host,)))
        call = getattr(self.redis, method)(*args)
        return race(call, self.timeout, self.reactor, lambda: StoreUnavailable(
            "Redis did not answer %s within %.1fs" % (method, self.timeout)))

    def _eval(self, name, keys=(), args=()):
        return self._call("eval", SCRIPTS[name], list(keys), [str(a) for a in args])

    # IStore

    @defer.inlineCallbacks
    def lookup(self, keys, now, selector):
        hostkey, fields, group, group_fields, default, subnet, subnet_fields = yield self._eval(
            "lookup", keys, [now, selector])
        host = None
        if hostkey:
            fields = _pairs(fields)
            fields["ts"] = str(now)  # written by the script after it read the hash
            host = Host(hostkey, fields)
        return Lookup(host, group, _pairs(group_fields), _pairs(default),
                      subnet[7:] if subnet else None, _pairs(subnet_fields))

    @defer.inlineCallbacks
    def lease_of(self, mac, now):
        found = yield self._eval("lease", (), [mac, now])
        return Lease(found[0], mac, found[1], int(found[2])) if found else None

    def offer(self, mac, source, requested, now, hold):
        return self._eval("offer", (), [mac, now, hold, requested or ""] + _source_args(source))

    @defer.inlineCallbacks
    def commit(self, mac, ip, source, lease_time, now, relay=b""):
        try:
            ip, expires = yield self._eval("commit", (), [mac, ip, now, lease_time, relay.hex()]
                                           + _source_args(source))
        except txredisapi.ResponseError as e:
            if str(e).startswith("CONFLICT"):
                raise Conflict(str(e)[9:], taken=str(e).endswith("is taken"))
            raise
        return Lease(ip, mac, "bound", int(expires), relay.hex())

    @defer.inlineCallbacks
    def release(self, mac, ip, now):
        return bool((yield self._eval("release", (), [mac, ip])))

    def release_offer(self, mac):
        return self._eval("release_offer", (), [mac])

    def decline(self, mac, ip, now, probation):
        return self._eval("decline", (), [mac, ip, now, probation])

    @defer.inlineCallbacks
    def reclaim(self, now, limit=1000):
        total = 0
        while True:
            count = int((yield self._eval("reclaim", (), [now, limit])))
            total += count
            if count < limit:
                return total

    @defer.inlineCallbacks
    def refresh_reserved(self):
        """SCAN the host hashes and replace the `reserved` set with their fixed addresses."""
        reserved = set()
        for pattern in ("mac:*", "client:*"):
            cursor = "0"
            while True:
                cursor, keys = yield self._call("scan", cursor, pattern, 500)
                values = yield defer.gatherResults(
                    [self._call("hmget", key, ["ip", "dynamic"]) for key in keys])
                reserved.update(ip for ip, dynamic in values if ip and not dynamic)
                if str(cursor) == "0":
                    break
        yield self._replace_set("reserved", reserved)
        return len(reserved)

    @defer.inlineCallbacks
    def _replace_set(self, key, members):
        staging = key + ":staging"
        yield self._call("delete", staging)
        members = sorted(members)
        for start in range(0, len(members), 500):
            yield self._call("sadd", staging, members[start:start + 500])
        if members:
            yield self._call("rename", staging, key)
        else:
            yield self._call("delete", key)

    def ping(self):
        return self._call("ping")

    # IAdmin

    @defer.inlineCallbacks
    def hashes(self, prefix):
        keys, cursor = set(), "0"
        while True:
            cursor, found = yield self._call("scan", cursor, _glob_escape(prefix) + "*", 1000)
            keys.update(found)
            if str(cursor) == "0":
                break
        keys = sorted(keys)
        values = yield defer.gatherResults([self._call("hgetall", key) for key in keys])
        return {key: value for key, value in zip(keys, values) if value}

    @defer.inlineCallbacks
    def get(self, key):
        found = yield self._call("hgetall", key)
        return found or None

    @defer.inlineCallbacks
    def put(self, key, fields, mode="replace"):
        args = [mode] + ([name for name in fields] if mode == "remove"
                         else [x for kv in fields.items() for x in kv])
        return _pairs((yield self._eval("put", [key], args)))

    @defer.inlineCallbacks
    def delete(self, key):
        existed = yield self._call("exists", key)
        yield self.put(key, {}, "replace")
        return bool(existed)

    @defer.inlineCallbacks
    def leases(self, offset=0, count=1000):
        flat = yield self._eval("leases", (), [offset, count])
        return [Lease(flat[i], flat[i + 1], flat[i + 2], int(flat[i + 3]), flat[i + 4])
                for i in range(0, len(flat), 5)]

    @defer.inlineCallbacks
    def end_lease(self, ip):
        return bool((yield self._eval("end_lease", (), [ip])))


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
