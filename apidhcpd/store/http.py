"""IStore that asks a remote apidhcpd API node (`--api-url`): the seed's daemon -> API split.

Knows the legacy query (`POST /` with the seed's JSON, see docs/api.md) and how to turn its
answer back into what the handler chain expects: a host with its address and a group made of
the answer's options. The API node does all lookups and allocation with its own Redis; this
node keeps no inventory. Knows nothing of Redis.
"""

import json
from collections.abc import Generator, Sequence
from io import BytesIO
from typing import Any

from twisted.internet import defer, task
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.client import Agent, FileBodyProducer, HTTPConnectionPool, readBody
from twisted.web.http_headers import Headers
from twisted.web.iweb import IResponse
from zope.interface import implementer

from apidhcpd.limits.bounded import BoundedMap
from apidhcpd.limits.timeouts import race
from apidhcpd.store.contract import (
    AddressSource,
    Conflict,
    Host,
    Intent,
    IStore,
    Lease,
    Lookup,
    StoreUnavailable,
)

log = Logger()

# answer field -> group field of the synthesized group
_GROUP_FIELDS = {"gateway": "gateway", "prefix": "prefix", "broadcast": "broadcast",
                 "dns": "dns", "domain": "domain", "ntp": "ntp", "leasetime": "lease-time"}


Steps = Generator["Deferred[Any]", Any, Any]  # an inlineCallbacks body


def lookup_from_answer(mac: str, answer: dict[str, Any]) -> Lookup:
    """The legacy answer as a Lookup: host fields plus a group named `api`."""
    dynamic = answer.get("method") == "dynamic"
    fields = {k: str(answer[k]) for k in ("ip", "hostname", "description") if answer.get(k)}
    if dynamic:
        fields["dynamic"] = "1"
    group = {ours: str(answer[theirs]) for theirs, ours in _GROUP_FIELDS.items()
             if answer.get(theirs) not in (None, "", [])}
    return Lookup(Host("mac:" + mac, fields), "api", group, {})


@implementer(IStore)
class HTTPStore:
    """IStore over the legacy query of a remote API node."""

    def __init__(self, url: str, reactor: Any, *, timeout: float = 2.0,
                 token: str | None = None) -> None:
        self.url = url.rstrip("/") + "/"
        self.reactor = reactor
        self.timeout = timeout
        self.token = token
        self.pool = HTTPConnectionPool(reactor)  # type: ignore[no-untyped-call]
        self.agent = Agent(reactor, pool=self.pool,  # type: ignore[no-untyped-call]
                           connectTimeout=timeout)
        # the request bodies' producer runs on this reactor, not the global one
        self.cooperator = task.Cooperator(scheduler=lambda work: reactor.callLater(0, work))
        # mac -> the last answer for it (the offer), capped (bounded.py): the least recently
        # answered go first
        self.answers = BoundedMap(100_000, 16 << 20)

    def connect(self) -> None:
        pass

    def disconnect(self) -> "Deferred[None]":
        closed: Deferred[None] = self.pool.closeCachedConnections()  # type: ignore[no-untyped-call]
        return closed

    def _post(self, body: dict[str, Any]) -> "Deferred[tuple[int, bytes]]":
        headers = Headers({b"content-type": [b"application/json"]})
        if self.token:
            headers.addRawHeader(b"authorization", b"Bearer " + self.token.encode())
        producer: Any = FileBodyProducer(  # type: ignore[no-untyped-call]
            BytesIO(json.dumps(body).encode()), self.cooperator)
        call = self.agent.request(b"POST", self.url.encode(), headers, producer)

        def read(response: IResponse) -> "Deferred[tuple[int, bytes]]":
            return readBody(response).addCallback(lambda data: (response.code, data))

        def unavailable(failure: Failure) -> tuple[int, bytes]:
            raise StoreUnavailable("API %s unreachable: %s" % (self.url,
                                                                 failure.getErrorMessage()))

        answered = call.addCallback(read).addErrback(unavailable)
        return race(answered, self.timeout, self.reactor, lambda: StoreUnavailable(
            "API %s did not answer within %.1fs" % (self.url, self.timeout)))

    @defer.inlineCallbacks
    def _query(self, body: dict[str, Any]) -> Steps:
        code, data = yield self._post(body)
        if code == 204:
            return None
        try:
            answer = json.loads(data or b"null")
        except ValueError:
            raise StoreUnavailable("API %s answered %d with no JSON" % (self.url, code)) from None
        if code >= 500 or code in (401, 403):
            raise StoreUnavailable("API %s answered %d: %s" % (
                self.url, code, (answer or {}).get("error", "")))
        return code, answer

    # IStore

    @defer.inlineCallbacks
    def lookup(self, keys: Sequence[str], now: int, selector: str,
               intent: Intent | None = None) -> Steps:
        mac = next(k[4:] for k in keys if k.startswith("mac:"))
        ids = [k[7:] for k in keys if k.startswith("client:")]
        # keys hold client:<option 61 hex> before client:<host name> (handlers.host_keys)
        # "op": our own form of the answer (api.py), not the seed's
        body = {"op": "discover", "mac": mac, "client": ids[-1] if ids else None}
        if len(ids) == 2:
            body["client_id"] = ids[0]
        # to the API node this daemon is a relay: it places the request by this address
        body["giaddr"] = selector
        code, answer = yield self._query(body)
        if code == 404 or not answer or not answer.get("ip"):
            self.answers.pop(mac, None)
            return Lookup(None, "api", {}, {})
        self.answers.put(mac, answer, 200 + len(json.dumps(answer)))
        return lookup_from_answer(mac, answer)

    def lease_of(self, mac: str, now: int) -> "Deferred[Lease | None]":
        answer = self.answers.get(mac)
        if answer and answer.get("method") == "dynamic":
            return defer.succeed(Lease(answer["ip"], mac, "bound", now + 1))
        return defer.succeed(None)

    def offer(self, mac: str, source: AddressSource, requested: str | None, now: int,
              hold: int) -> "Deferred[str | None]":
        answer = self.answers.get(mac)
        return defer.succeed(answer.get("ip") if answer else None)

    @defer.inlineCallbacks
    def commit(self, mac: str, ip: str, source: AddressSource, lease_time: int, now: int,
               relay: bytes = b"", state: str = "", client: str = "") -> Steps:
        code, answer = yield self._query({"mac": mac, "op": "request", "ip": ip})
        if code != 200:
            raise Conflict("API refused %s: %s" % (ip, (answer or {}).get("error", code)),
                           taken=True)
        return Lease(ip, mac, "bound", now + int(answer.get("leasetime") or lease_time))

    @defer.inlineCallbacks
    def release(self, mac: str, ip: str, now: int) -> Steps:
        result = yield self._query({"mac": mac, "op": "release", "ip": ip})
        return result is None  # 204: released

    def release_offer(self, mac: str, keep: str = "") -> "Deferred[None]":
        self.answers.pop(mac, None)
        return defer.succeed(None)

    def decline(self, mac: str, ip: str, now: int, probation: int) -> "Deferred[bool]":
        log.warn("DECLINE of {ip} by {mac}: the API has no decline call; tell its operator",
                 ip=ip, mac=mac)
        return defer.succeed(False)

    def lease_holder(self, ip: str, now: int) -> "Deferred[str | None]":
        return defer.succeed(None)  # the API node checks its own reservations

    def reclaim(self, now: int) -> "Deferred[int]":
        return defer.succeed(0)  # the API node reclaims its own leases

    def refresh_reserved(self) -> "Deferred[int]":
        return defer.succeed(0)

    @defer.inlineCallbacks
    def ping(self) -> Steps:
        code, _ = yield self._post({"op": "ping"})
        if code >= 500:
            raise StoreUnavailable("API %s answered %d" % (self.url, code))
        return True
