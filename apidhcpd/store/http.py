"""IStore that asks a remote apidhcpd API node (`--api-url`): the seed's daemon -> API split.

Knows the legacy query (`POST /` with the seed's JSON, see docs/api.md) and how to turn its
answer back into what the handler chain expects: a host with its address and a group made of
the answer's options. The API node does all lookups and allocation with its own Redis; this
node keeps no inventory. Knows nothing of Redis.
"""

import json

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web.client import Agent, HTTPConnectionPool, readBody
from twisted.web.http_headers import Headers
from twisted.web.iweb import IBodyProducer
from zope.interface import implementer

from apidhcpd.limits.bounded import BoundedMap
from apidhcpd.limits.timeouts import race
from apidhcpd.store.contract import Conflict, Host, IStore, Lease, Lookup, StoreUnavailable

log = Logger()

# answer field -> group field of the synthesized group
_GROUP_FIELDS = {"gateway": "gateway", "prefix": "prefix", "broadcast": "broadcast",
                 "dns": "dns", "domain": "domain", "ntp": "ntp", "leasetime": "lease-time"}


@implementer(IBodyProducer)
class _JSONBody:
    def __init__(self, value):
        self.body = json.dumps(value).encode()
        self.length = len(self.body)

    def startProducing(self, consumer):
        consumer.write(self.body)
        return defer.succeed(None)

    def pauseProducing(self):
        pass

    def stopProducing(self):
        pass


def lookup_from_answer(mac: str, answer: dict) -> Lookup:
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

    def __init__(self, url: str, reactor, *, timeout: float = 2.0, token: str | None = None):
        self.url = url.rstrip("/") + "/"
        self.reactor = reactor
        self.timeout = timeout
        self.token = token
        self.pool = HTTPConnectionPool(reactor)
        self.agent = Agent(reactor, pool=self.pool, connectTimeout=timeout)
        # mac -> the last answer for it (the offer), capped (bounded.py): the least recently
        # answered go first
        self.answers = BoundedMap(100_000, 16 << 20)

    def connect(self):
        pass

    def disconnect(self):
        return self.pool.closeCachedConnections()

    def _post(self, body: dict):
        headers = Headers({b"content-type": [b"application/json"]})
        if self.token:
            headers.addRawHeader(b"authorization", b"Bearer " + self.token.encode())
        call = self.agent.request(b"POST", self.url.encode(), headers, _JSONBody(body))
        call.addCallback(lambda response: readBody(response).addCallback(
            lambda data: (response.code, data)))
        call.addErrback(lambda f: f.trap(Exception) and _unavailable(self.url, f))
        return race(call, self.timeout, self.reactor, lambda: StoreUnavailable(
            "API %s did not answer within %.1fs" % (self.url, self.timeout)))

    @defer.inlineCallbacks
    def _query(self, body: dict):
        code, data = yield self._post(body)
        if code == 204:
            return None
        try:
            answer = json.loads(data or b"null")
        except ValueError:
            raise StoreUnavailable("API %s answered %d with no JSON" % (self.url, code))
        if code >= 500 or code in (401, 403):
            raise StoreUnavailable("API %s answered %d: %s" % (
                self.url, code, (answer or {}).get("error", "")))
        return code, answer

    # IStore

    @defer.inlineCallbacks
    def lookup(self, keys, now, selector, intent=None):
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

    def lease_of(self, mac, now):
        answer = self.answers.get(mac)
        if answer and answer.get("method") == "dynamic":
            return defer.succeed(Lease(answer["ip"], mac, "bound", now + 1))
        return defer.succeed(None)

    def offer(self, mac, source, requested, now, hold):
        answer = self.answers.get(mac)
        return defer.succeed(answer.get("ip") if answer else None)

    @defer.inlineCallbacks
    def commit(self, mac, ip, source, lease_time, now, relay=b"", state="", client=""):
        code, answer = yield self._query({"mac": mac, "op": "request", "ip": ip})
        if code != 200:
            raise Conflict("API refused %s: %s" % (ip, (answer or {}).get("error", code)),
                           taken=True)
        return Lease(ip, mac, "bound", now + int(answer.get("leasetime") or lease_time))

    @defer.inlineCallbacks
    def release(self, mac, ip, now):
        result = yield self._query({"mac": mac, "op": "release", "ip": ip})
        return result is None  # 204: released

    def release_offer(self, mac, keep=""):
        self.answers.pop(mac, None)
        return defer.succeed(None)

    def decline(self, mac, ip, now, probation):
        log.warn("DECLINE of {ip} by {mac}: the API has no decline call; tell its operator",
                 ip=ip, mac=mac)
        return defer.succeed(False)

    def lease_holder(self, ip, now):
        return defer.succeed(None)  # the API node checks its own reservations

    def reclaim(self, now):
        return defer.succeed(0)  # the API node reclaims its own leases

    def refresh_reserved(self):
        return defer.succeed(0)

    @defer.inlineCallbacks
    def ping(self):
        code, _ = yield self._post({"op": "ping"})
        if code >= 500:
            raise StoreUnavailable("API %s answered %d" % (self.url, code))
        return True


def _unavailable(url, failure):
    raise StoreUnavailable("API %s unreachable: %s" % (url, failure.getErrorMessage()))
