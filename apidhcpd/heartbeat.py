"""GET /ping on the heartbeat port: 200 while this node can serve, 503 (with the reason) when not.

Knows the health signal (the store's reachability, checked in the background) and shows the
node's role; nothing else. The standby of the seed's master/standby pair polls this.
"""

import re

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web.resource import Resource

log = Logger()

_WHERE = re.compile(r" at .*$|\S*://\S*|\[[0-9A-Fa-f:.]+\](?::\d+)?"
                    r"|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b|(?:/[^\s/]+)+/?")


def public_reason(message: str) -> str:
    """A store error as it may be shown to whoever asks (the API, /ping): what went wrong,
    without where the store is (addresses, URLs, socket paths) or the lower layers' text."""
    text = _WHERE.sub("", message.split(": ", 1)[0])
    return " ".join(text.split()) or "store unavailable"


class Health:
    """Is the store reachable? Pinged in the background; logs each change once (a store still
    connecting at start-up gets a few seconds before it is reported)."""

    GRACE = 3  # failed pings before a never-reached store is reported

    def __init__(self, store, on_reached=()):
        self.store = store
        # called when the store is reached after it was disconnected (not merely slow)
        self.on_reached = list(on_reached)
        self.disconnected = True
        self.error = "not checked yet"
        self.reached = False
        self.failures = 0

    def problem(self):
        return self.error

    def check(self):
        def ok(_):
            if self.error and (self.reached or self.failures >= self.GRACE):
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

        def failed(f):
            self.failures += 1
            self.disconnected = self.disconnected or not getattr(self.store, "connected", True)
            if (self.reached and self.error is None) or self.failures == self.GRACE:
                log.warn("store unreachable: {error}", error=f.getErrorMessage())
            self.error = f.getErrorMessage()

        return self.store.ping().addCallbacks(ok, failed)


class Ping(Resource):
    isLeaf = True

    def __init__(self, health, role):
        super().__init__()
        self.health = health
        self.role = role

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        problem = self.health.problem()
        if problem:
            request.setResponseCode(503)
            return ("unavailable: %s (%s)\n" % (problem, self.role())).encode()
        return ("ok (%s)\n" % self.role()).encode()


def heartbeat_resource(health, role=lambda: "standalone") -> Resource:
    """`role()` says what this node is, e.g. `standby, master-dead`."""
    root = Resource()
    root.putChild(b"ping", Ping(health, role))
    return root
