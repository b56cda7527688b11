"""IStore on Redis through txredisapi: the key schema (docs/redis.md) and the Lua scripts.

The only module that imports txredisapi. Every call gets a deadline; while no connection is up,
calls fail at once with StoreUnavailable instead of queueing behind a dead link. Allocation runs
in Lua scripts (apidhcpd/lua/), so servers sharing one Redis never hand out an address twice.
"""

import hashlib
import os
import uuid
from urllib.parse import parse_qs, unquote, urlsplit

import attr
import txredisapi
from twisted.internet import defer
from twisted.internet.endpoints import TCP4ClientEndpoint, UNIXClientEndpoint, wrapClientTLS
from twisted.logger import Logger
from zope.interface import implementer

from apidhcpd.limits.timeouts import race
from apidhcpd.store import keys
from apidhcpd.store.contract import (
    Bound,
    CommitIntent,
    Conflict,
    Holds,
    Host,
    IAdmin,
    ICacheable,
    IStore,
    Lease,
    Lookup,
    Offered,
    OfferIntent,
    Refused,
    StoreUnavailable,
)
from apidhcpd.store.keys import HOST_PREFIXES

log = Logger()

_LUA_DIR = os.path.join(os.path.dirname(__file__), "lua")


def _script(name: str, shared=("common",)) -> str:
    """lua/<name>.lua after the shared files it calls into."""
    texts = []
    for part in (*shared, name):
        with open(os.path.join(_LUA_DIR, part + ".lua")) as f:
            texts.append(f.read())
    return "\n".join(texts)


SCRIPTS = {name: _script(name) for name in (
    "lookup", "lease", "offer", "commit", "release", "release_offer", "decline", "reclaim",
    "put", "end_lease", "leases", "discover", "request", "touch", "bind", "reserve_batch",
    "reserve_prune", "reserve_done")}
SHAS = {name: hashlib.sha1(text.encode()).hexdigest() for name, text in SCRIPTS.items()}
REBUILD_LOCK = "reserved:rebuild"  # held by the one server rebuilding the `reserved` index
FLUSH_AFTER = 0.001  # seconds the packet path's commands wait to share one write
CHANGES = "apidhcpd:inventory"  # put.lua publishes every key it writes here


@attr.s(frozen=True)
class RedisURL:
    """A parsed `--redis` value:

    - redis://[[user]:password@]host[:port][/db]; rediss://... the same over TLS, with
      ?ca=FILE (the CA that signed the server's certificate; default: the system's) and
      ?cert=FILE&key=FILE (a client certificate, for Redis' tls-auth-clients)
    - unix://[[user]:password@]/path[?db=N]
    - redis+sentinel://[[user]:password@]host:port,host:port,.../service[/db] (the current
      master of `service`, as the sentinels say)

    `user` is a Redis 6 ACL user (AUTH user password); without it, the password is
    requirepass' (AUTH password). Special characters in either are %-encoded."""

    host: str = attr.ib(default="127.0.0.1")
    port: int = attr.ib(default=6379)
    path: str = attr.ib(default=None)
    db: int = attr.ib(default=0)
    password: str = attr.ib(default=None, repr=False)
    sentinels: tuple = attr.ib(default=())  # ((host, port), ...)
    service: str = attr.ib(default=None)
    username: str = attr.ib(default=None)
    tls: bool = attr.ib(default=False)
    ca: str = attr.ib(default=None)  # PEM files (rediss://)
    cert: str = attr.ib(default=None)
    key: str = attr.ib(default=None)

    @classmethod
    def parse(cls, url: str) -> "RedisURL":
        if url.startswith("redis+sentinel://"):
            return cls._sentinel(url)
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        try:
            credentials = dict(username=unquote(parts.username) if parts.username else None,
                               password=unquote(parts.password) if parts.password else None)
            if parts.scheme == "unix":
                if not parts.path:
                    raise ValueError("unix URL needs a socket path")
                return cls(path=parts.path, db=int(query.get("db", ["0"])[0]), **credentials)
            if parts.scheme in ("redis", "rediss"):
                db = parts.path.strip("/")
                tls = {}
                if parts.scheme == "rediss":
                    tls = {name: query[name][0] for name in ("ca", "cert", "key")
                           if name in query}
                    if ("cert" in tls) != ("key" in tls):
                        raise ValueError("a client certificate needs both cert= and key=")
                    for path in tls.values():
                        with open(path, "rb"):
                            pass  # unreadable: say so now, not at the first connection
                elif set(query) & {"ca", "cert", "key"}:
                    raise ValueError("ca=, cert= and key= are for rediss:// (TLS) URLs")
                return cls(host=parts.hostname or "127.0.0.1", port=parts.port or 6379,
                           db=int(db) if db else 0, tls=parts.scheme == "rediss",
                           **tls, **credentials)
        except (ValueError, OSError) as e:
            raise ValueError("bad Redis URL %r: %s" % (_hide_password(url), e))
        raise ValueError("bad Redis URL %r: use redis://host:port/db, rediss://host:port/db, "
                         "unix:///path?db=N or redis+sentinel://host:port,.../service/db"
                         % (_hide_password(url),))

    @classmethod
    def _sentinel(cls, url: str) -> "RedisURL":
        rest = url[len("redis+sentinel://"):]
        netloc, _, path = rest.partition("/")
        username = password = None
        if "@" in netloc:
            credentials, _, netloc = netloc.rpartition("@")
            user, _, secret = credentials.partition(":")
            username, password = unquote(user) or None, unquote(secret) or None
        service, _, db = path.strip("/").partition("/")
        try:
            sentinels = []
            for item in filter(None, netloc.split(",")):
                host, _, port = item.rpartition(":")
                if not host:
                    host, port = port, "26379"
                sentinels.append((host, int(port)))
            if not sentinels or not service:
                raise ValueError("it needs sentinels and a service name")
            return cls(sentinels=tuple(sentinels), service=service, db=int(db or 0),
                       password=password, username=username)
        except ValueError as e:
            raise ValueError("bad Redis URL %r: %s (redis+sentinel://host:port,.../service/db)"
                             % (_hide_password(url), e))

    def tls_options(self):
        """The client TLS options of a rediss:// URL: the server's certificate checked against
        `ca` (else the system's trust store) and the URL's host name or address."""
        from twisted.internet import ssl
        trust = None
        if self.ca:
            with open(self.ca, "rb") as f:
                trust = ssl.Certificate.loadPEM(f.read())
        client = None
        if self.cert:
            with open(self.cert, "rb") as cert, open(self.key, "rb") as key:
                client = ssl.PrivateCertificate.loadPEM(cert.read() + b"\n" + key.read())
        return ssl.optionsForClientTLS(self.host, trustRoot=trust, clientCertificate=client)


def _hide_password(url: str) -> str:
    """A URL as it may be shown: the password replaced by ***."""
    scheme, sep, rest = url.partition("://")
    netloc, slash, tail = rest.partition("/")
    if "@" in netloc:
        credentials, _, hosts = netloc.rpartition("@")
        user, colon, _ = credentials.partition(":")
        netloc = "%s%s***@%s" % (user, colon, hosts) if colon else netloc
    return scheme + sep + netloc + slash + tail


def _command(words) -> bytes:
    """One command in RESP, the Redis protocol: an array of bulk strings."""
    out = [b"*%d\r\n" % len(words)]
    for word in words:
        data = word.encode() if isinstance(word, str) else str(word).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def _pairs(flat) -> dict:
    return dict(zip(flat[::2], flat[1::2])) if flat else {}


def _lookup(reply, now, allocated=None) -> Lookup:
    hostkey, fields, group, group_fields, default, subnet, subnet_fields = reply[:7]
    host = None
    if hostkey:
        fields = _pairs(fields)
        fields["ts"] = str(now)  # written by the script after it read the hash
        host = Host(hostkey, fields)
    allocation = None
    if allocated is not None and not (host and host.reserved_ip):
        allocation = allocated(reply[7] if len(reply) > 7 else None)
    return Lookup(host, group, _pairs(group_fields), _pairs(default),
                  keys.network(subnet) if subnet else None, _pairs(subnet_fields), allocation)


def _offered(ip) -> Offered:
    return Offered(ip or None)


def _committed(result, intent: CommitIntent) -> Bound | Holds | Refused:
    """bind.lua's or request.lua's {'bound', ip, expires}, {'holds', ip} or
    {'conflict', '1' if taken else '0', reason}."""
    tag = result[0]
    if tag == "bound":
        return Bound(Lease(result[1], intent.mac, "bound", int(result[2]), intent.relay.hex()))
    if tag == "holds":
        return Holds(result[1])
    return Refused(Conflict(result[2], taken=result[1] == "1"))


def _source_args(source):
    return ["1" if source.seed_pool else "0", source.name] + [
        "%d-%d" % r for r in source.ranges]


@implementer(IStore, ICacheable, IAdmin)
class RedisStore:
    """IStore on one Redis server, through a lazy txredisapi connection pool."""

    def __init__(self, url: RedisURL, reactor, *, timeout: float = 1.0, poolsize: int = 4):
        self.url = url
        self.reactor = reactor
        self.timeout = timeout
        self.poolsize = poolsize
        self.sentinel = None
        self._watcher = None  # the subscription's factory, made by watch()
        self._next = 0
        self._outbox = []  # (command, reply Deferred) waiting for _flush()
        if url.sentinels:
            self.factory = self.redis = None  # made by connect(): Sentinel connects at once
            return
        self.factory = txredisapi.RedisFactory(
            url.path or "%s:%d" % (url.host, url.port), url.db, poolsize, isLazy=True,
            handler=txredisapi.UnixConnectionHandler if url.path else txredisapi.ConnectionHandler,
            password=url.password, replyTimeout=60, convertNumbers=False,
            username=url.username)
        self.factory.maxDelay = 1
        self.factory.initialDelay = 0.2
        self.redis = self.factory.handler

    def connect(self) -> None:
        if self.url.sentinels:
            self._connect_through_sentinels()
        else:
            self.factory.startConnecting(self._endpoint())
        if self.factory.deferred is not None:  # fails when Redis refuses AUTH or SELECT
            self.factory.deferred.addErrback(self._refused)

    def _refused(self, failure):
        """txredisapi gives up for good when Redis refuses the password (or asks for one):
        say so plainly, once (the health check then reports no connection)."""
        log.error("Redis at {where} refused apidhcpd: {error}; check the user and password "
                  "in --redis (redis://user:password@host..., %-encoded)", where=self._where(),
                  error=failure.getErrorMessage())

    def _endpoint(self):
        if self.url.path:
            return UNIXClientEndpoint(self.reactor, self.url.path, timeout=self.timeout)
        endpoint = TCP4ClientEndpoint(self.reactor, self.url.host, self.url.port,
                                      timeout=self.timeout)
        if self.url.tls:
            return wrapClientTLS(self.url.tls_options(), endpoint)
        return endpoint

    def _connect_through_sentinels(self):
        """A pool on the current master: on every (re)connection the sentinels are asked who
        it is, so a promotion is followed without a restart."""
        self.sentinel = txredisapi.Sentinel(list(self.url.sentinels))
        self.sentinel.discovery_timeout = self.timeout
        self.redis = self.sentinel.master_for(
            self.url.service, dbid=self.url.db, poolsize=self.poolsize, isLazy=True,
            password=self.url.password, replyTimeout=60, convertNumbers=False,
            username=self.url.username)
        self.factory = self.redis._factory
        self.factory.maxDelay = 1

    def disconnect(self):
        if self.factory is None:
            return defer.succeed(None)
        done = [self.factory.disconnect()]
        if self._watcher is not None:
            done.append(self._watcher.disconnect())
        if self.sentinel is not None:
            done.append(self.sentinel.disconnect())
        return defer.gatherResults(done, consumeErrors=True)

    @property
    def connected(self) -> bool:
        return self.factory is not None and self.factory.size > 0

    def _call(self, method: str, *args, deadline: bool = True, **kwargs):
        """Run one command; StoreUnavailable when Redis is away, the connection breaks, or
        (with `deadline`) it does not answer in time. Calls on the packet path pass
        deadline=False: DHCPServer already races the whole transaction against one."""
        if not self.connected:
            return defer.fail(StoreUnavailable("no connection to Redis at %s"
                                               % self._where()))
        call = getattr(self.redis, method)(*args, **kwargs).addErrback(self._unavailable)
        if not deadline:
            return call
        return race(call, self.timeout, self.reactor, lambda: StoreUnavailable(
            "Redis did not answer %s within %.1fs" % (method, self.timeout)))

    def _where(self) -> str:
        if self.url.sentinels:
            return "the master of %s (sentinels %s)" % (
                self.url.service, ",".join("%s:%d" % s for s in self.url.sentinels))
        return self.url.path or "%s:%d" % (self.url.host, self.url.port)

    @staticmethod
    def _unavailable(failure):
        failure.trap(txredisapi.ConnectionError)
        raise StoreUnavailable("Redis connection lost: %s" % failure.getErrorMessage())

    def _eval(self, name, keys=(), args=(), deadline=False):
        """Run a script by its SHA1 (sending the script itself on the first NOSCRIPT).

        The packet path's fast lane: the command is encoded here and queued for _flush(),
        which writes every command queued within FLUSH_AFTER to one connection in one write.
        txredisapi's execute_command() and ConnectionHandler would add three Deferreds and a
        timer per call, half of a call's CPU (docs/performance.md)."""
        if not self.connected:
            return defer.fail(StoreUnavailable("no connection to Redis at %s" % self._where()))
        words = [len(keys), *keys, *args]
        if not self._outbox:
            self.reactor.callLater(FLUSH_AFTER, self._flush)
        reply = defer.Deferred()
        self._outbox.append((_command(["EVALSHA", SHAS[name], *words]), reply))
        call = reply.addCallback(self._evaluated, name, words)
        if not deadline:
            return call
        return race(call, self.timeout, self.reactor, lambda: StoreUnavailable(
            "Redis did not answer %s within %.1fs" % (name, self.timeout)))

    def _flush(self):
        """Write the queued commands to one connection of the pool (round robin) in one write,
        claiming their replies in the same step: nothing else can write to it in between, so
        replies and callers stay paired. Under load this saves a write, a read and a wakeup
        per call on both sides, for at most FLUSH_AFTER of latency (docs/performance.md)."""
        outbox, self._outbox = self._outbox, []
        pool = self.factory.pool
        if not pool:
            for _, reply in outbox:
                reply.errback(StoreUnavailable("no connection to Redis at %s" % self._where()))
            return
        self._next = (self._next + 1) % len(pool)
        conn = pool[self._next]
        # what ReplyQueue.get() does, without a second Deferred per call to chain to ours
        conn.replyQueue.waiting.extend(reply for _, reply in outbox)
        conn.transport.write(b"".join(command for command, _ in outbox))

    def _evaluated(self, reply, name, words):
        if not isinstance(reply, Exception):
            return reply
        if isinstance(reply, txredisapi.ResponseError) and str(reply).startswith("NOSCRIPT"):
            return self.redis.execute_command("EVAL", SCRIPTS[name], *words).addErrback(
                self._unavailable)
        if isinstance(reply, txredisapi.ConnectionError):
            raise StoreUnavailable("Redis connection lost: %s" % reply)
        raise reply

    # IStore

    def lookup(self, host_keys, now, selector, intent=None, subnet=None):
        if subnet is not None:  # the caller knows the subnet: the script need not search
            selector = keys.subnet(subnet) if subnet else "-"
        if intent is None:
            return self._eval("lookup", host_keys, [now, selector]).addCallback(_lookup, now)
        if isinstance(intent, OfferIntent):
            args = [now, selector, intent.mac, intent.hold, intent.requested]
            return self._eval("discover", host_keys, args).addCallback(_lookup, now, _offered)
        args = [now, selector, intent.mac, intent.address, intent.state, intent.relay.hex(),
                intent.client]
        return self._eval("request", host_keys, args).addCallback(
            _lookup, now, lambda result: _committed(result, intent))

    def allocate(self, intent, source, lease_time, now):
        if isinstance(intent, OfferIntent):
            return self._eval("offer", (), [intent.mac, now, intent.hold, intent.requested]
                              + _source_args(source)).addCallback(_offered)
        args = [intent.mac, intent.address, now, lease_time, intent.relay.hex(), intent.state,
                intent.client]
        return self._eval("bind", (), args + _source_args(source)).addCallback(
            _committed, intent)

    def lease_of(self, mac, now):
        return self._eval("lease", (), [mac, now]).addCallback(
            lambda found: Lease(found[0], mac, found[1], int(found[2])) if found else None)

    def offer(self, mac, source, requested, now, hold):
        return self._eval("offer", (), [mac, now, hold, requested or ""] + _source_args(source))

    def commit(self, mac, ip, source, lease_time, now, relay=b"", state="", client=""):
        def conflict(failure):
            failure.trap(txredisapi.ResponseError)
            message = str(failure.value)
            if not message.startswith("CONFLICT"):
                return failure
            raise Conflict(message[9:], taken=message.endswith("is taken"))

        return self._eval("commit", (), [mac, ip, now, lease_time, relay.hex(), state, client]
                          + _source_args(source)).addCallbacks(
            lambda bound: Lease(bound[0], mac, "bound", int(bound[1]), relay.hex()), conflict)

    def release(self, mac, ip, now):
        return self._eval("release", (), [mac, ip]).addCallback(bool)

    def release_offer(self, mac, keep=""):
        return self._eval("release_offer", (), [mac, keep])

    def decline(self, mac, ip, now, probation):
        return self._eval("decline", (), [mac, ip, now, probation]).addCallback(bool)

    def lease_holder(self, ip, now):
        def holder(found):
            mac, expires = found
            return mac if mac and int(expires or 0) > now else None
        return self._call("hmget", keys.lease(ip), ["mac", "expires"],
                          deadline=False).addCallback(holder)

    @defer.inlineCallbacks
    def reclaim(self, now, limit=1000):
        total = 0
        while True:
            count = int((yield self._eval("reclaim", (), [now, limit], deadline=True)))
            total += count
            if count < limit:
                return total

    @defer.inlineCallbacks
    def refresh_reserved(self):
        """Rebuild the `reserved` index from the host hashes, in steps that each block Redis
        for a page of keys: add what the pages show (reserve_batch.lua), then drop what no
        host reserves any more unless it was reserved anew meanwhile (reserve_prune.lua).
        One run at a time across all servers (a lock key); writes during the run are kept.
        The number of reserved addresses, or None if another server's run holds the lock."""
        token = uuid.uuid4().hex
        if not (yield self._call("set", REBUILD_LOCK, token, expire=3600, only_if_not_exists=True)):
            return None
        run = "%s:%s" % (REBUILD_LOCK, token)
        started = int((yield self._call("get", "reserved:version")) or 0)
        for prefix in HOST_PREFIXES:
            cursor = "0"
            while True:
                cursor, keys = yield self._call("scan", cursor, prefix + "*", 500)
                if keys:
                    yield self._eval("reserve_batch", keys, [run], deadline=True)
                if str(cursor) == "0":
                    break
        cursor = "0"
        while True:
            cursor, members = yield self._call("sscan", "reserved", cursor, count=500)
            if members:
                yield self._eval("reserve_prune", (), [run, started, *members], deadline=True)
            if str(cursor) == "0":
                break
        return int((yield self._eval("reserve_done", (), [run, started, token], deadline=True)))

    def ping(self):
        return self._call("ping")

    def touch(self, keys, now):
        return self._eval("touch", (), [now, *keys], deadline=True)

    def watch(self, changed, watching):
        """Subscribe to the inventory's changes on a connection of its own: `changed(key)` for
        every key put.lua writes, `watching(bool)` when the subscription starts or is lost
        (changes made meanwhile are unknown). Follows Sentinel's master like the pool."""
        protocol = type("Watcher", (_Watcher,) if not self.url.sentinels else
                        (_Watcher, txredisapi.SentinelRedisProtocol),
                        {"changed": staticmethod(changed), "watching": staticmethod(watching)})
        if self.url.sentinels:
            factory = type("WatcherFactory", (txredisapi.SentinelConnectionFactory,),
                           {"protocol": protocol})
            handler = self.sentinel.master_for(
                self.url.service, factory_class=factory, dbid=self.url.db, poolsize=1,
                isLazy=True, password=self.url.password, replyTimeout=60,
                username=self.url.username)
            self._watcher = handler._factory
        else:
            self._watcher = txredisapi.RedisFactory(
                None, self.url.db, 1, isLazy=True, password=self.url.password,
                replyTimeout=60, convertNumbers=False, username=self.url.username)
            self._watcher.protocol = protocol
            self._watcher.startConnecting(self._endpoint())
        self._watcher.maxDelay = 1

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
        values = yield defer.gatherResults([self._call("hgetall", key) for key in keys],
                                           consumeErrors=True)
        return {key: value for key, value in zip(keys, values) if value}

    @defer.inlineCallbacks
    def get(self, key):
        found = yield self._call("hgetall", key)
        return found or None

    @defer.inlineCallbacks
    def put(self, key, fields, mode="replace"):
        args = [mode] + ([name for name in fields] if mode == "remove"
                         else [x for kv in fields.items() for x in kv])
        return _pairs((yield self._eval("put", [key], args, deadline=True)))

    @defer.inlineCallbacks
    def delete(self, key):
        existed = yield self._call("exists", key)
        yield self.put(key, {}, "replace")
        return bool(existed)

    @defer.inlineCallbacks
    def leases(self, offset=0, count=1000):
        flat = yield self._eval("leases", (), [offset, count], deadline=True)
        return [Lease(flat[i], flat[i + 1], flat[i + 2], int(flat[i + 3]), flat[i + 4])
                for i in range(0, len(flat), 5)]

    @defer.inlineCallbacks
    def end_lease(self, ip):
        return bool((yield self._eval("end_lease", (), [ip], deadline=True)))

    # IAdmin: bounded reads. A walk over the keys (SCAN) or the leases is made of calls that
    # each look at ADMIN_STEP keys or leases at most, one call at a time: Redis is never held
    # for long, and DHCP lookups go in between.

    @defer.inlineCallbacks
    def scan(self, prefix, cursor, count):
        cursor, keys = yield self._call("scan", cursor, _glob_escape(prefix) + "*", count)
        return str(cursor), list(keys)

    def get_many(self, keys):
        """One call for the whole page (admin_get_many.lua), not one per key."""
        keys = list(keys)
        if not keys:
            return defer.succeed({})
        return self._eval("admin_get_many", keys, (), deadline=True).addCallback(
            _hashes, keys)

    def size(self):
        return self._call("dbsize").addCallback(int)

    def subnet_of(self, ip):
        return self._eval("admin_subnet_of", (), [ip], deadline=True).addCallback(
            lambda key: key[7:] if key else None)

    # holders(): by the `reserved` index and `lease:<ip>` (a few commands: what the API
    # uses, tap.py sets it), or by a walk over every key (exact even for hosts written with
    # plain redis-cli that the index has not yet seen: the CLI, a process of its own)
    trust_reserved_index = False

    @defer.inlineCallbacks
    def holders(self, ip):
        if not self.trust_reserved_index:
            return (yield self._find(HOST_PREFIXES, "ip", [ip]))
        reserved, holder = yield defer.gatherResults(
            [self._call("sismember", "reserved", ip), self._call("hget", "lease:" + ip, "mac")],
            consumeErrors=True)
        if int(reserved):  # rare: a conflict, or an index not yet rebuilt; find who
            return (yield self._find(HOST_PREFIXES, "ip", [ip]))
        if holder:
            fields = yield self._call("hmget", "mac:" + holder, ["ip", "dynamic"])
            if fields[0] == ip and fields[1]:
                return [("mac:" + holder, True)]
        return []

    @defer.inlineCallbacks
    def group_users(self, name, limit):
        found = yield self._find(HOST_PREFIXES + ("subnet:",), "group",
                                 [name, "group:" + name], limit)
        return sorted(key for key, _ in found)[:limit]

    @defer.inlineCallbacks
    def _find(self, prefixes, field, values, limit=None):
        """[(key, dynamic)] of the keys with one of `prefixes` whose `field` is one of
        `values`: a walk over every key, ADMIN_STEP keys per call (admin_find.lua)."""
        found, cursor = [], "0"
        while True:
            reply = yield self._eval("admin_find", (), [cursor, ADMIN_STEP, field, len(values),
                                                        *values, *prefixes], deadline=True)
            cursor = str(reply[0])
            found += [(reply[i], bool(reply[i + 1])) for i in range(1, len(reply), 2)]
            if cursor == "0" or (limit is not None and len(found) >= limit):
                return sorted(set(found))

    @defer.inlineCallbacks
    def lease_at(self, ip):
        mac, state, expires, relay = yield self._call(
            "hmget", "lease:" + ip, ["mac", "state", "expires", "relay"])
        return Lease(ip, mac or "", state or "", int(expires), relay or "") if expires else None

    def lease_count(self):
        return self._call("zcard", "leases").addCallback(int)

    def field(self, key, name):
        return self._call("hget", key, name)

    @defer.inlineCallbacks
    def hash_scan(self, key, cursor, count):
        cursor, flat = yield self._call("hscan", key, cursor, None, count)
        return str(cursor), _pairs(flat)

    def hash_size(self, key):
        return self._call("hlen", key).addCallback(int)

    @defer.inlineCallbacks
    def pool_tally(self, pools, now):
        ranges, tallies = [], []
        for index, (_, pool_ranges) in enumerate(pools):
            tallies.append({"bound": 0, "offered": 0, "declined": 0})
            for start, end in pool_ranges:
                ranges += [index, start, end]
        position = 0
        while ranges:
            reply = yield self._eval("admin_tally", (), [now, position, ADMIN_STEP, *ranges],
                                     deadline=True)
            for i in range(1, len(reply), 2):
                index, state = reply[i].split(" ")
                counts = tallies[int(index)]
                counts[state] = counts.get(state, 0) + int(reply[i + 1])
            position += int(reply[0])
            if int(reply[0]) < ADMIN_STEP:
                break
        return tallies

    @defer.inlineCallbacks
    def seed_pool_tally(self, now):
        counts = dict.fromkeys(("size", "bound", "offered", "declined"), 0)
        cursor = "0"
        while True:
            reply = yield self._eval("admin_seed_tally", (), [now, cursor, ADMIN_STEP],
                                     deadline=True)
            for name, value in zip(("size", "bound", "offered", "declined"), reply[1:]):
                counts[name] += int(value)
            cursor = str(reply[0])
            if cursor == "0":
                return counts


class _Watcher(txredisapi.SubscriberProtocol):
    """The subscription to CHANGES; watch() gives each class its two callbacks."""

    @defer.inlineCallbacks
    def connectionMade(self):
        yield super().connectionMade()  # AUTH, SELECT (and Sentinel's role check)
        if not self.connected:
            return
        try:
            yield self.subscribe(CHANGES)
        except Exception as e:
            log.warn("could not subscribe to inventory changes: {error}", error=e)
            self.transport.loseConnection()
            return
        self.watching(True)

    def connectionLost(self, why):
        if self.connected:
            self.watching(False)
        super().connectionLost(why)

    def messageReceived(self, pattern, channel, message):
        self.changed(message.decode() if isinstance(message, bytes) else message)


ADMIN_STEP = 500  # keys or leases one admin script call looks at (well under 1 ms of Redis)


SCRIPTS.update({name: _script(name, ("common", "admin_common")) for name in (
    "admin_find", "admin_subnet_of", "admin_tally", "admin_seed_tally", "admin_get_many")})


def _hashes(flat, keys) -> dict:
    """admin_get_many.lua's reply as {key: fields} of the keys that exist."""
    found, i = {}, 0
    for key in keys:
        count = int(flat[i])
        if count:
            found[key] = _pairs(flat[i + 1:i + 1 + 2 * count])
        i += 1 + 2 * count
    return found
SHAS.update({name: hashlib.sha1(SCRIPTS[name].encode()).hexdigest() for name in SCRIPTS})


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
