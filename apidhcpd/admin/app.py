"""The admin API's Klein application: what it is built on, who may write, how errors answer.

Knows the command-line values that configure the API (--api-listen, --api-token-file,
--api-allowed-origins), the objects every route works on (the store, the DHCP server, the
link, the pool figures), bearer-token authentication and the Origin check for writes, and how
an error becomes the JSON answer {"error", "details"}. Knows no route: the routes are the
subclasses in routes_inventory.py, routes_leases.py and legacy.py, all on the one `app`,
composed into AdminAPI by api.py.
"""

import hmac
import ipaddress

from klein import Klein
from twisted.logger import Logger
from twisted.web import server
from werkzeug.exceptions import HTTPException

from apidhcpd import __version__
from apidhcpd.admin.inputs import Invalid
from apidhcpd.admin.metrics import ServerMetrics
from apidhcpd.admin.web import ApiError, BoundedRequest, json_reply
from apidhcpd.ha.heartbeat import public_reason
from apidhcpd.store.contract import StoreUnavailable
from apidhcpd.store.pools import PoolFigures

log = Logger()

IDLE_TIMEOUT = 30  # seconds an API connection may stay silent


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
            path, getattr(e, "strerror", None) or e)) from e
    if not token or any(c.isspace() for c in token):
        raise ValueError("--api-token-file %s must hold one token (non-empty, no spaces)" % path)
    return token


class AdminApp:
    """The admin API on `store` (IStore + IAdmin), answering legacy queries with `server`
    (a DHCPServer) as if they came in on `link`. `token`: the bearer token for writes, or None
    (writes refused). `protocol`: the DHCPProtocol, for its malformed-packet count;
    `counters6` and `protocol6`: the DHCPv6 servers' counters and protocols (malformed), for
    /metrics (None where DHCPv6 is not served)."""

    app = Klein()

    def __init__(self, store, server, link, token: str | None = None, clock=None,
                 protocol=None, role=lambda: "standalone", allowed_origins=(),
                 counters6=None, protocol6=None):
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
        self.metrics = ServerMetrics(server, store, self.pools, protocol, role, __version__,
                                     counters6, protocol6)

    def resource(self):
        return self.app.resource()

    def site(self) -> server.Site:
        """The resource as served: bodies capped (BoundedRequest), idle connections closed."""
        site = server.Site(self.resource(), timeout=IDLE_TIMEOUT)
        site.requestFactory = BoundedRequest
        return site

    def now(self) -> int:
        return int(self.clock.seconds())

    def _check_origin(self, request) -> None:
        """403 for a request a web page sent (browsers add Origin to such POSTs, PUTs...),
        unless its origin is one of `allowed_origins`."""
        origin = request.getHeader(b"origin")
        if origin is not None and origin.rstrip(b"/") not in self.allowed_origins:
            raise ApiError(403, "cross-origin request refused", [
                "requests from web pages are refused; allow an origin with "
                "--api-allowed-origins"])

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

    # errors

    @app.handle_errors(Invalid)
    def _api_error(self, request, failure):
        error = failure.value
        for name, value in getattr(error, "headers", {}).items():
            request.setHeader(name, value)
        return json_reply(request, error.status, {"error": error.error,
                                                  "details": error.details})

    @app.handle_errors(StoreUnavailable)
    def _store_error(self, request, failure):
        log.info("admin API: {method} {path}: {error}", method=request.method.decode(),
                 path=request.path.decode("utf-8", "replace"), error=failure.getErrorMessage())
        return json_reply(request, 503, {"error": "store unavailable",
                                         "details": [public_reason(failure.getErrorMessage())]})

    @app.handle_errors(HTTPException)
    def _http_error(self, request, failure):
        error = failure.value
        if getattr(error, "new_url", None):  # werkzeug's redirect (a trailing slash)
            request.setHeader(b"location", error.new_url.encode())
        if error.code == 405 and getattr(error, "valid_methods", None):
            request.setHeader(b"allow", ", ".join(error.valid_methods).encode())
        return json_reply(request, error.code, {
            "error": error.name.lower(), "details": [request.path.decode("utf-8", "replace")]})

    @app.handle_errors(Exception)
    def _internal_error(self, request, failure):
        log.failure("admin API: {method} {path}", failure,
                    method=request.method.decode(), path=request.path.decode("utf-8", "replace"))
        return json_reply(request, 500, {"error": "internal error",
                                         "details": ["see the server's log"]})
