"""HTTP plumbing of the admin API: JSON in and out, query arguments and paging, who is asking.

Knows how a request body is read (bounded: BoundedRequest refuses an oversized one before it
is buffered; json_body refuses what is not one strict JSON object), how an answer is written,
what the paging arguments mean, and whether a request comes from this host. Knows no route
and no store: the routes (routes_*.py, legacy.py) raise ApiError and app.py answers it.
"""

import io
import ipaddress
import json
from typing import Any

from twisted.web import server

from apidhcpd.admin.inputs import Invalid

MAX_BODY = 1 << 20  # bytes of a request body; more is 413, before it is read (BoundedRequest)
MAX_FIELDS = 1000  # names in one JSON object (no hash of the contract has nearly as many)
PROXY_HEADERS = (b"forwarded", b"x-forwarded-for", b"x-real-ip")
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
OFFSET_KEYS = 10_000  # above this many keys (or leases, or pool addresses), page by cursor


class ApiError(Invalid):
    """An Invalid with response headers; every Invalid is answered as
    {"error": error, "details": [...]} with `status`."""

    def __init__(self, status: int, error: str, details=(), headers=None):
        super().__init__(status, error, details)
        self.headers = headers or {}


# output

def json_reply(request, status: int, body) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"application/json")
    return json.dumps(body, sort_keys=True).encode() + b"\n"


def empty_reply(request, status: int = 204) -> bytes:
    request.setResponseCode(status)
    return b""


# query arguments and paging

def query_args(request, allowed) -> dict[str, str]:
    args = {k.decode("utf-8", "replace"): v[-1].decode("utf-8", "replace")
            for k, v in request.args.items()}
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        raise ApiError(400, "unknown query parameter", ["%s (use %s)" % (
            ", ".join(unknown), ", ".join(sorted(allowed)))])
    return args


def paging(args) -> tuple[int, str | None, int]:
    """(offset, cursor, limit): offset paging (`offset`, the default) or a cursor walk
    (`cursor`, "0" to start; offset 0); not both."""
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
        return 0, cursor, values[1]
    return values[0], None, values[1]


def offset_page(items, offset, limit, total=None) -> dict:
    """An offset page of `items` (all of them), or of a page already cut when `total`."""
    if total is None:
        return {"items": items[offset:offset + limit], "total": len(items), "offset": offset,
                "limit": limit}
    return {"items": items, "total": total, "offset": offset, "limit": limit}


def too_many(what: str, count: int) -> ApiError:
    return ApiError(400, "inventory too large for offset paging", [
        "%d %s (offset paging sorts them all; it stops at %d): page with ?cursor=0 and then "
        "each answer's next_cursor" % (count, what, OFFSET_KEYS)])


# who is asking, and what they sent

def is_loopback(request) -> bool:
    """From this host, and not forwarded by a proxy on it (which would make anyone local)."""
    if any(request.requestHeaders.hasHeader(name) for name in PROXY_HEADERS):
        return False
    host = getattr(request.getClientAddress(), "host", None)
    if host is None:  # a UNIX socket
        return False
    try:
        address = ipaddress.ip_address(host)
    except (TypeError, ValueError):
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def json_body(request) -> dict:
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
        raise ApiError(400, "body is not JSON", ["nested too deeply"]) from None
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, UnicodeEncodeError
        raise ApiError(400, "body is not JSON", [_short(e)]) from e
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
        transport: Any = self.channel.transport
        transport.write(
            b"HTTP/1.1 413 Payload Too Large\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body))
        self.channel.loseConnection()
