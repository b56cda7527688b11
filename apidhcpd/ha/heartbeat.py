"""GET /ping on the heartbeat port: 200 while this node can serve, 503 (with the reason) when not.

Knows the health signal (the store's reachability, checked in the background), the node's
role and the proof that an answer is this node's own: its server id, and with a shared secret
an HMAC-SHA256 over the id, the time, the asker's nonce and the status (sign(); ha.py checks
it on the standby). Also what the listener accepts: a few connections per peer, none for
long (GuardedFactory), so that a device on the LAN can neither exhaust the heartbeat nor hold
it. Nothing else.
"""

import hashlib
import hmac
import re
from typing import Any

from twisted.internet import defer
from twisted.internet.protocol import connectionDone
from twisted.logger import Logger
from twisted.protocols import policies
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site

from apidhcpd.limits.clock import Clock
from apidhcpd.limits.timeouts import race

log = Logger()

STARTING = "starting"
ID_HEADER, TIME_HEADER, AUTH_HEADER = (b"x-apidhcpd-server-id", b"x-apidhcpd-time",
                                       b"x-apidhcpd-auth")
_NONCE = re.compile(rb"[0-9a-f]{16,64}")
_WHERE = re.compile(r" at .*$|\S*://\S*|\[[0-9A-Fa-f:.]+\](?::\d+)?"
                    r"|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b|(?:/[^\s/]+)+/?")


def public_reason(message: str) -> str:
    """A store error as it may be shown to whoever asks (the API, /ping): what went wrong,
    without where the store is (addresses, URLs, socket paths) or the lower layers' text."""
    text = _WHERE.sub("", message.split(": ", 1)[0])
    return " ".join(text.split()) or "store unavailable"


def sign(secret: bytes, server_id: str, when: int, nonce: bytes, status: int) -> bytes:
    """The heartbeat's proof: hex HMAC-SHA256 of the answer's id, time, nonce and status."""
    message = b"apidhcpd-heartbeat/1 %s %d %s %d" % (server_id.encode(), when, nonce, status)
    return hmac.new(secret, message, hashlib.sha256).hexdigest().encode()


def read_secret(path: str | None) -> bytes | None:
    """The shared secret of `--heartbeat-secret-file` (None without one); ValueError if
    unusable. Both nodes of a pair read the same secret."""
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            secret = f.read().strip()
    except OSError as e:
        raise ValueError("cannot read --heartbeat-secret-file %s: %s"
                         % (path, e.strerror)) from e
    if len(secret) < 16:
        raise ValueError("--heartbeat-secret-file %s must hold a secret of at least 16 bytes"
                         % path)
    return secret


class Health:
    """Is the store reachable? Pinged in the background; logs each change once (a store still
    connecting at start-up gets a few seconds before it is reported). Until the first real
    verdict the problem is STARTING: with a `clock`, a store that is not connected yet is
    asked again every RETRY seconds for up to STARTUP seconds (then it is reported, once), so
    that the first answer of /ping (which waits for that verdict, ready()) says how the store
    really is."""

    GRACE = 3  # failed pings before a never-reached store is reported (without a clock)
    STARTUP, RETRY = 2.0, 0.05  # with a clock: how long, and how often, at start-up

    def __init__(self, store, on_reached=(), clock: Clock | None = None):
        self.store = store
        # called when the store is reached after it was disconnected (not merely slow)
        self.on_reached = list(on_reached)
        self.clock = clock
        self.disconnected = True
        self.error: str | None = STARTING
        self.reached = False
        self.failures = 0
        self._first: float | None = None  # when the first check started
        self._again: Any = None  # the start-up retry (an IDelayedCall)
        self._waiting: list[defer.Deferred[None]] = []  # ready() Deferreds

    def problem(self):
        return self.error

    def ready(self) -> defer.Deferred:
        """Fires at the first verdict (at once when there is one)."""
        if self.error != STARTING:
            return defer.succeed(None)
        waiting: defer.Deferred[None] = defer.Deferred()
        self._waiting.append(waiting)
        if self._first is None:
            self.check()
        return waiting

    def _verdict(self):
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.callback(None)

    def check(self):
        now = self.clock.seconds() if self.clock is not None else 0
        if self._first is None:
            self._first = now
        started = self._first

        def ok(_):
            if self.error not in (None, STARTING) and (self.reached or
                                                        self.failures >= self.GRACE):
                log.info("store reachable again")
            elif self.error:
                log.info("store reachable")
            if self.disconnected:
                self.disconnected = False
                for call in self.on_reached:
                    defer.maybeDeferred(call).addErrback(
                        lambda f: log.warn("after reconnecting: {error}",
                                           error=f.getErrorMessage()))
            self.error, self.reached, self.failures = None, True, 0
            self._verdict()

        def failed(f):
            self.failures += 1
            self.disconnected = self.disconnected or not getattr(self.store, "connected", True)
            if (not self.reached and self.clock is not None
                    and now - started < self.STARTUP):
                if self._again is None or not self._again.active():  # still connecting
                    self._again = self.clock.callLater(self.RETRY, self.check)
                return
            first = self.error == STARTING and self.clock is not None  # start-up is over
            if (self.reached and self.error is None) or first or (
                    self.clock is None and self.failures == self.GRACE):
                log.warn("store unreachable: {error}", error=f.getErrorMessage())
            self.error = f.getErrorMessage()
            self._verdict()

        return self.store.ping().addCallbacks(ok, failed)


class Ping(Resource):
    isLeaf = True
    WAIT = 1.5  # seconds an answer waits for the first verdict at start-up

    def __init__(self, health, role, server_id: str | None = None,
                 secret: bytes | None = None, clock=None):
        super().__init__()
        self.health = health
        self.role = role
        self.server_id = server_id
        self.secret = secret
        self.clock = clock

    def render_GET(self, request):
        if self.health.problem() == STARTING and hasattr(self.health, "ready"):
            gone: list[Failure] = []
            request.notifyFinish().addErrback(gone.append)

            def answer(_):
                if not gone:
                    request.write(self._answer(request))
                    request.finish()

            ready = self.health.ready()
            if self.clock is not None:  # answer "starting" rather than be cut off (lifetime)
                ready = race(ready, self.WAIT, self.clock, lambda: TimeoutError())
                ready.addErrback(lambda _: None)
            ready.addCallback(answer)
            return NOT_DONE_YET
        return self._answer(request)

    def _answer(self, request) -> bytes:
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        problem = self.health.problem()
        status = 503 if problem else 200
        request.setResponseCode(status)
        if self.server_id is not None:
            request.setHeader(ID_HEADER, self.server_id.encode())
            nonce = (request.args.get(b"nonce") or [b""])[0]
            if self.secret is not None and _NONCE.fullmatch(nonce) and self.clock is not None:
                when = int(self.clock.seconds())
                request.setHeader(TIME_HEADER, b"%d" % when)
                request.setHeader(AUTH_HEADER, sign(self.secret, self.server_id, when, nonce,
                                                    status))
        if problem:
            return ("unavailable: %s (%s)\n" % (public_reason(problem), self.role())).encode()
        return ("ok (%s)\n" % self.role()).encode()


def heartbeat_resource(health, role=lambda: "standalone", server_id=None, secret=None,
                       clock=None) -> Resource:
    """`role()` says what this node is, e.g. `standby, master-dead`; `server_id` (and
    `secret`) sign the answers for the standby of a pair."""
    root = Resource()
    # (zope Interfaces, such as IResource, mean nothing to mypy without a plugin)
    root.putChild(b"ping", Ping(health, role, server_id, secret, clock))  # type: ignore[arg-type]
    return root


class _Guarded(policies.ProtocolWrapper):
    """A heartbeat connection: closed after `lifetime` seconds whatever it does."""

    def connectionMade(self):
        super().connectionMade()
        self._end = self.factory.clock.callLater(
            self.factory.lifetime, self.transport.abortConnection)  # type: ignore[union-attr]

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        end = getattr(self, "_end", None)
        if end is not None and end.active():
            end.cancel()
        super().connectionLost(reason)


class GuardedFactory(policies.WrappingFactory):
    """At most `per_peer` connections from one address and `total` in all, each closed after
    `lifetime` seconds: a poll takes milliseconds, so slow or idle connections only cost the
    one who opens them. Refused connections are closed at once and counted."""

    protocol = _Guarded

    def __init__(self, wrapped, clock, total: int = 64, per_peer: int = 4,
                 lifetime: float = 2.0):
        super().__init__(wrapped)
        self.clock = clock
        self.total = total
        self.per_peer = per_peer
        self.lifetime = lifetime
        self.peers: dict[str | None, int] = {}
        self.refused = 0

    def buildProtocol(self, addr):
        host = getattr(addr, "host", None)
        if len(self.protocols) >= self.total or self.peers.get(host, 0) >= self.per_peer:
            self.refused += 1
            return None
        protocol = super().buildProtocol(addr)
        protocol.peer_host = host  # type: ignore[attr-defined]  # _Guarded's
        self.peers[host] = self.peers.get(host, 0) + 1
        return protocol

    def unregisterProtocol(self, protocol):
        super().unregisterProtocol(protocol)
        host = getattr(protocol, "peer_host", None)
        if self.peers.get(host, 0) > 1:
            self.peers[host] -= 1
        else:
            self.peers.pop(host, None)


def heartbeat_factory(health, role, server_id, secret, clock) -> GuardedFactory:
    """What tap.py listens with on --heartbeat-port."""
    site = Site(heartbeat_resource(health, role, server_id, secret, clock), timeout=2)
    return GuardedFactory(site, clock)
