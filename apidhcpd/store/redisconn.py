"""The connection to Redis: a lazy txredisapi pool (TCP, TLS, unix socket or Sentinel's master),
commands with deadlines, the Lua scripts (lua/) run by SHA1, the packet path's batched writes in
RESP, and the subscription to inventory changes.

The only module that uses txredisapi's connections, and every use of its internals is in one
class, TxRedisInternals. Knows no key names and not what the scripts do: RedisAdmin
(redisadmin.py) and RedisStore (redis.py) build on RedisConnection.
"""

import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import hiredis
import txredisapi
from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, UNIXClientEndpoint, wrapClientTLS
from twisted.logger import Logger
from twisted.python.failure import Failure

from apidhcpd.limits.timeouts import race
from apidhcpd.store.contract import StoreUnavailable
from apidhcpd.store.redisurl import RedisURL

log = Logger()

_LUA_DIR = os.path.join(os.path.dirname(__file__), "lua")
FLUSH_AFTER = 0.001  # seconds the packet path's commands wait to share one write
CHANGES = "apidhcpd:inventory"  # put.lua publishes every key it writes here


def _script(name: str, shared: Sequence[str] = ("common",)) -> str:
    """lua/<name>.lua after the shared files it calls into."""
    texts = []
    for part in (*shared, name):
        with open(os.path.join(_LUA_DIR, part + ".lua")) as f:
            texts.append(f.read())
    return "\n".join(texts)


SCRIPTS = {name: _script(name) for name in (
    "lookup", "lease", "offer", "commit", "release", "release_offer", "decline", "reclaim",
    "end_lease", "leases", "discover", "request", "touch", "bind", "reserve_prune",
    "reserve_done")}
# DHCPv6, and the scripts that read ip6/prefix6 or subnet6: keys (common6.lua after common.lua)
SCRIPTS.update({name: _script(name, ("common", "common6")) for name in (
    "lookup6", "offer6", "commit6", "bind6", "commit6_reserved", "release6", "decline6", "reclaim6",
    "leases6_of", "server_duid", "put", "reserve_batch", "subnets6_batch", "admin_leases6",
    "admin_subnet6_of", "admin_find6", "admin_tally6")})
SCRIPTS.update({name: _script(name, ("common", "admin_common")) for name in (
    "admin_find", "admin_subnet_of", "admin_tally", "admin_seed_tally", "admin_get_many")})
SHAS = {name: hashlib.sha1(text.encode()).hexdigest() for name, text in SCRIPTS.items()}

def command(words: tuple[object, ...]) -> bytes:
    """One command in RESP, the Redis protocol (an array of bulk strings), by hiredis.
    Anything but a str, int, float or bytes goes as its str(), as the hand-written encoder
    this replaces sent it (bench/resp_encode.py measures both)."""
    # hiredis' stub types the tuple as one word long
    try:
        packed: bytes = hiredis.pack_command(words)  # type: ignore[arg-type]
    except TypeError:
        packed = hiredis.pack_command(tuple(  # type: ignore[arg-type]
            w if isinstance(w, (str, int, float, bytes)) and not isinstance(w, bool) else str(w)
            for w in words))
    return packed


def pairs(flat: Sequence[str] | None) -> dict[str, str]:
    """A flat [name, value, ...] reply (HGETALL's, a script's) as a dict."""
    return dict(zip(flat[::2], flat[1::2])) if flat else {}


class TxRedisInternals:
    """Every use of txredisapi beyond its documented calls (startConnecting, disconnect, the
    handler's commands, Sentinel.master_for, the protocol classes to subclass), for the version
    pinned in setup.cfg: check these when upgrading it.

    - RedisFactory.size and .pool: the live connections, to say whether Redis is reachable
      without a call, and to pick one connection to write to.
    - RedisFactory.deferred: fails when Redis refuses AUTH or SELECT; the only word of it.
    - ConnectionHandler._factory: Sentinel.master_for() hands out only the handler.
    - a connection's replyQueue.waiting and transport: send() writes already-encoded commands
      and queues their reply Deferreds as execute_command() would, without its three extra
      Deferreds and timer per call (half of a call's CPU, docs/performance.md).
    - _Watcher chains to SubscriberProtocol.connectionMade(), which returns a Deferred that
      fires once AUTH and SELECT are done, and reads `connected` to know whether they were.
    """

    @staticmethod
    def factory_of(handler: Any) -> Any:
        return handler._factory

    @staticmethod
    def size(factory: Any) -> int:
        return int(factory.size)

    @staticmethod
    def refusal(factory: Any) -> "Deferred[Any] | None":
        """The Deferred that fails if Redis refuses the connection's AUTH or SELECT."""
        found: Deferred[Any] | None = factory.deferred
        return found

    @staticmethod
    def send(factory: Any, turn: int, data: bytes, replies: Iterable["Deferred[Any]"]) -> bool:
        """Write `data` (whole commands) to connection number `turn` (modulo the pool's size)
        and pair `replies` with its next replies, in one step: nothing else can write to it in
        between. False if the pool has no connection."""
        pool = factory.pool
        if not pool:
            return False
        conn = pool[turn % len(pool)]
        conn.replyQueue.waiting.extend(replies)
        conn.transport.write(data)
        return True


class RedisConnection:
    """A lazy txredisapi connection pool to one Redis (or the master Sentinel names), with the
    calls the store makes through it: _call() for a command, _eval() for a script."""

    def __init__(self, url: RedisURL, reactor: Any, *, timeout: float = 1.0,
                 poolsize: int = 4) -> None:
        self.url = url
        self.reactor = reactor
        self.timeout = timeout
        self.poolsize = poolsize
        self.sentinel: Any = None
        self._watcher: Any = None  # the subscription's factory, made by watch()
        self._next = 0
        self._outbox: list[tuple[bytes, Deferred[Any]]] = []  # waiting for _flush()
        self.factory: Any
        self.redis: Any
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
        refusal = TxRedisInternals.refusal(self.factory)
        if refusal is not None:  # fails when Redis refuses AUTH or SELECT
            refusal.addErrback(self._refused)

    def _refused(self, failure: Failure) -> None:
        """txredisapi gives up for good when Redis refuses the password (or asks for one):
        say so plainly, once (the health check then reports no connection)."""
        log.error("Redis at {where} refused apidhcpd: {error}; check the user and password "
                  "in --redis (redis://user:password@host..., %-encoded)", where=self._where(),
                  error=failure.getErrorMessage())

    def _endpoint(self) -> Any:  # an IStreamClientEndpoint
        if self.url.path:
            return UNIXClientEndpoint(  # type: ignore[no-untyped-call]
                self.reactor, self.url.path, timeout=self.timeout)
        endpoint: Any = TCP4ClientEndpoint(self.reactor, self.url.host, self.url.port,
                                           timeout=self.timeout)
        if self.url.tls:
            return wrapClientTLS(self.url.tls_options(), endpoint)
        return endpoint

    def _connect_through_sentinels(self) -> None:
        """A pool on the current master: on every (re)connection the sentinels are asked who
        it is, so a promotion is followed without a restart."""
        self.sentinel = txredisapi.Sentinel(list(self.url.sentinels))
        self.sentinel.discovery_timeout = self.timeout
        self.redis = self.sentinel.master_for(
            self.url.service, dbid=self.url.db, poolsize=self.poolsize, isLazy=True,
            password=self.url.password, replyTimeout=60, convertNumbers=False,
            username=self.url.username)
        self.factory = TxRedisInternals.factory_of(self.redis)
        self.factory.maxDelay = 1

    def disconnect(self) -> "Deferred[Any]":
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
        return self.factory is not None and TxRedisInternals.size(self.factory) > 0

    def _call(self, method: str, *args: Any, deadline: bool = True,
              **kwargs: Any) -> "Deferred[Any]":
        """Run one command; StoreUnavailable when Redis is away, the connection breaks, or
        (with `deadline`) it does not answer in time. Calls on the packet path pass
        deadline=False: DHCPServer already races the whole transaction against one."""
        if not self.connected:
            return defer.fail(StoreUnavailable("no connection to Redis at %s"
                                               % self._where()))
        call: Deferred[Any] = getattr(self.redis, method)(*args, **kwargs)
        call.addErrback(self._unavailable)
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
    def _unavailable(failure: Failure) -> None:
        failure.trap(txredisapi.ConnectionError)  # type: ignore[no-untyped-call]
        raise StoreUnavailable("Redis connection lost: %s" % failure.getErrorMessage())

    def _eval(self, name: str, keys: Sequence[object] = (), args: Sequence[object] = (),
              deadline: bool = False) -> "Deferred[Any]":
        """Run a script by its SHA1 (sending the script itself on the first NOSCRIPT).

        The packet path's fast lane: the command is encoded here and queued for _flush(),
        which writes every command queued within FLUSH_AFTER to one connection in one write.
        txredisapi's execute_command() and ConnectionHandler would add three Deferreds and a
        timer per call, half of a call's CPU (docs/performance.md)."""
        if not self.connected:
            return defer.fail(StoreUnavailable("no connection to Redis at %s" % self._where()))
        words = (len(keys), *keys, *args)
        if not self._outbox:
            self.reactor.callLater(FLUSH_AFTER, self._flush)
        reply: Deferred[Any] = Deferred()
        self._outbox.append((command(("EVALSHA", SHAS[name], *words)), reply))
        call = reply.addCallback(self._evaluated, name, words)
        if not deadline:
            return call
        return race(call, self.timeout, self.reactor, lambda: StoreUnavailable(
            "Redis did not answer %s within %.1fs" % (name, self.timeout)))

    def _flush(self) -> None:
        """Write the queued commands to one connection of the pool (round robin) in one write,
        claiming their replies in the same step: nothing else can write to it in between, so
        replies and callers stay paired. Under load this saves a write, a read and a wakeup
        per call on both sides, for at most FLUSH_AFTER of latency (docs/performance.md)."""
        outbox, self._outbox = self._outbox, []
        self._next += 1
        if not TxRedisInternals.send(self.factory, self._next,
                                     b"".join(command for command, _ in outbox),
                                     (reply for _, reply in outbox)):
            for _, reply in outbox:
                reply.errback(StoreUnavailable("no connection to Redis at %s" % self._where()))

    def _in_batches(self, name: str, now: int, limit: int) -> "Deferred[int]":
        """A script that works through at most `limit` items a call (reclaim.lua,
        reclaim6.lua), called until a call does fewer: the total."""
        async def run() -> int:
            total = 0
            while True:
                count = int(await self._eval(name, (), [now, limit], deadline=True))
                total += count
                if count < limit:
                    return total

        return defer.ensureDeferred(run())

    def _evaluated(self, reply: Any, name: str, words: Sequence[object]) -> Any:
        if not isinstance(reply, Exception):
            return reply
        if isinstance(reply, txredisapi.ResponseError) and str(reply).startswith("NOSCRIPT"):
            return self.redis.execute_command("EVAL", SCRIPTS[name], *words).addErrback(
                self._unavailable)
        if isinstance(reply, txredisapi.ConnectionError):
            raise StoreUnavailable("Redis connection lost: %s" % reply)
        raise reply

    def watch(self, changed: Callable[[str], object],
              watching: Callable[[bool], object]) -> None:
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
            self._watcher = TxRedisInternals.factory_of(handler)
        else:
            self._watcher = txredisapi.RedisFactory(
                None, self.url.db, 1, isLazy=True, password=self.url.password,
                replyTimeout=60, convertNumbers=False, username=self.url.username)
            self._watcher.protocol = protocol
            self._watcher.startConnecting(self._endpoint())
        self._watcher.maxDelay = 1


class _Watcher(txredisapi.SubscriberProtocol):  # type: ignore[misc]
    """The subscription to CHANGES; watch() gives each class its two callbacks."""

    changed: Callable[[str], object]
    watching: Callable[[bool], object]

    @defer.inlineCallbacks
    def connectionMade(self) -> Any:
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

    def connectionLost(self, why: Failure) -> None:
        if self.connected:
            self.watching(False)
        super().connectionLost(why)

    def messageReceived(self, pattern: object, channel: object, message: str | bytes) -> None:
        self.changed(message.decode() if isinstance(message, bytes) else message)
