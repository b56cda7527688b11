"""The seed's master/standby pair: the standby watches the master's heartbeat in the background
and answers only while the master is dead.

Knows the roles and the takeover rules (a few missed beats before taking over, a few good ones
before handing back), and what counts as a beat: a 200 from `GET /ping` that names the master's
server id and, with a shared secret, carries a fresh HMAC over that id, the master's time, this
poll's nonce and the status (heartbeat.sign). Polls with the reactor's HTTP client. Knows
nothing of DHCP beyond which transactions a standby may answer (the handlers in this module).
"""

import hmac
import os

from twisted.internet import defer, protocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.client import Agent

from apidhcpd.ha.heartbeat import AUTH_HEADER, ID_HEADER, TIME_HEADER, sign
from apidhcpd.limits.timeouts import race

log = Logger()


class PeerDown(Exception):
    pass


class _Prefix(protocol.Protocol):
    """The first `limit` bytes of a body; the connection is dropped beyond them."""

    def __init__(self, limit: int):
        self.limit = limit
        self.data = b""
        self.done: defer.Deferred[bytes] = defer.Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.data += data[:self.limit - len(self.data)]
        stop = getattr(self.transport, "stopProducing", None)
        if len(self.data) >= self.limit and stop:
            stop()

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        if not self.done.called:
            self.done.callback(self.data)


def _header(response, name: bytes) -> bytes:
    headers = getattr(response, "headers", None)
    values = headers.getRawHeaders(name) if headers is not None else None
    return values[0] if values else b""


class PeerMonitor:
    """Polls the master's /ping; `master_alive` flips to False after `takeover_after` failed
    polls in a row and back to True after `handback_after` good ones. Until the first verdict
    the master counts as alive, so a standby that starts never answers over a live master.

    A good poll is a 200 naming `master_id` (when set) and, with `secret`, signed with it for
    this poll's nonce within `window` seconds of this node's clock: anything else on the
    master's address (a device that took it, a proxy, a replay) is a missed beat."""

    def __init__(self, url: str, clock, *, timeout: float = 0.5, takeover_after: int = 3,
                 handback_after: int = 3, agent=None, master_id: str | None = None,
                 secret: bytes | None = None, window: float = 60.0):
        self.url = url
        self.master_id = master_id
        self.secret = secret
        self.window = window
        self.clock = clock
        self.timeout = timeout
        self.takeover_after = takeover_after
        self.handback_after = handback_after
        self.agent = agent or Agent(clock, connectTimeout=timeout)
        self.master_alive = True
        self.misses = 0
        self.hits = 0
        self.takeovers = 0
        self.last_error = ""

    @property
    def state(self) -> str:
        return "master-alive" if self.master_alive else "master-dead"

    def poll(self) -> defer.Deferred:
        nonce = os.urandom(16).hex().encode()
        call = self.agent.request(b"GET", self.url.encode() + b"?nonce=" + nonce)
        call.addCallback(self._read, nonce)
        raced = race(call, self.timeout, self.clock,
                     lambda: PeerDown("no answer within %.1fs" % self.timeout))
        raced.addErrback(lambda failure: (call.cancel(), failure)[1])  # stop a slow answer
        return raced.addCallbacks(self._alive, self._missed)

    def _read(self, response, nonce):
        body = _Prefix(200 if response.code != 200 else 0)
        response.deliverBody(body)
        if response.code != 200:
            return body.done.addCallback(lambda data: defer.fail(PeerDown(
                "answered %d: %s" % (response.code, data.decode("utf-8", "replace").strip()))))
        problem = self._not_the_master(response, nonce)
        if problem:
            raise PeerDown(problem)
        return None

    def _not_the_master(self, response, nonce) -> str | None:
        """Why this 200 is not the master's own beat, or None."""
        if self.master_id is None:
            return None
        answered = _header(response, ID_HEADER).decode("ascii", "replace")
        if answered != self.master_id:
            return "answered as %r, not as the master %s" % (answered[:40], self.master_id)
        if self.secret is None:
            return None
        when, proof = _header(response, TIME_HEADER), _header(response, AUTH_HEADER)
        if not when.isdigit() or not proof:
            return "an unsigned answer (is --heartbeat-secret-file set on the master?)"
        if not hmac.compare_digest(proof, sign(self.secret, self.master_id, int(when),
                                               nonce, 200)):
            return "a wrong heartbeat signature (not the same --heartbeat-secret-file?)"
        if abs(int(when) - self.clock.seconds()) > self.window:
            return "a signature %ds off this node's clock" % (int(when) - self.clock.seconds())
        return None

    def _alive(self, _):
        self.hits, self.misses = self.hits + 1, 0
        if not self.master_alive and self.hits >= self.handback_after:
            self.master_alive = True
            log.warn("master {url} is back: handing back, this standby goes silent",
                     url=self.url)

    def _missed(self, failure):
        self.misses, self.hits = self.misses + 1, 0
        self.last_error = failure.getErrorMessage()
        if self.master_alive and self.misses >= self.takeover_after:
            self.master_alive = False
            self.takeovers += 1
            log.warn("master {url} is down ({error}): this standby takes over",
                     url=self.url, error=self.last_error)
