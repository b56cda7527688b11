"""Prometheus metrics: the text exposition format (0.0.4), written by hand, and what feeds it.

Knows the DHCPServer's outcome counters ((message type, outcome) -> count, and
("dropped", kind) for drops with a kind), how full each dynamic pool is (the `range` of a group
or subnet, and the seed's `pool` hash; counted by the store in bounded steps, and cached by
PoolFigures so that a scrape costs nothing), and how long store calls take (TimedStore wraps a
store and times every IStore/IAdmin call). Knows nothing of HTTP: api.py serves render() at
/metrics.
"""

import bisect
import time

from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import directlyProvides, providedBy

from apidhcpd.dhcp4.options import MESSAGE_TYPE_NAMES
from apidhcpd.store.contract import IAdmin, IStore

log = Logger()

CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
ACTED_ON = ("DISCOVER", "REQUEST", "DECLINE", "RELEASE", "INFORM")


class Histogram:
    """Observations by label (a store method name) into fixed buckets, as Prometheus counts."""

    def __init__(self, buckets=BUCKETS):
        self.buckets = tuple(buckets)
        self.series: dict[str, list] = {}  # label -> [count per bucket..., +Inf, sum]

    def observe(self, label: str, seconds: float) -> None:
        series = self.series.get(label)
        if series is None:
            series = self.series[label] = [0] * (len(self.buckets) + 1) + [0.0]
        series[bisect.bisect_left(self.buckets, seconds)] += 1
        series[-1] += seconds

    def count(self, label: str) -> int:
        return sum(self.series.get(label, [0.0])[:-1])


class TimedStore:
    """A store whose IStore and IAdmin calls are timed into `latency` (by method name) and whose
    failed calls are counted in `errors`; every other attribute is the wrapped store's."""

    def __init__(self, store, timer=time.perf_counter):
        self._store = store
        self._timer = timer
        self.latency = Histogram()
        self.errors: dict[str, int] = {}
        directlyProvides(self, providedBy(store))
        for name in (set(IStore.names()) | set(IAdmin.names())) - {"watch"}:
            method = getattr(store, name, None)
            if method is not None:
                setattr(self, name, self._timed(name, method))

    def __getattr__(self, name):
        return getattr(self._store, name)

    def _timed(self, name, method):
        timer = self._timer

        def call(*args, **kwargs):
            start = timer()
            return method(*args, **kwargs).addBoth(self._done, name, start)

        return call

    def _done(self, result, name, start):
        self.latency.observe(name, self._timer() - start)
        if isinstance(result, Failure):
            self.errors[name] = self.errors.get(name, 0) + 1
        return result


async def all_leases(store, page: int = 1000) -> list:
    """Every lease the store holds, read `page` at a time (IAdmin.leases)."""
    leases, offset = [], 0
    while True:
        batch = await store.leases(offset, page)
        if not batch:
            return leases
        leases.extend(batch)
        offset += page


def render(counters, *, pools=(), store_up: bool = True, latency: Histogram | None = None,
           store_errors: dict[str, int] | None = None, malformed: int | None = None,
           role: str = "standalone", version: str = "",
           cache: dict[str, int] | None = None, pools_age: float | None = None) -> str:
    """The whole /metrics page."""
    received = {name.lower(): 0 for name in ACTED_ON}
    dropped = dict(received)
    answered = {("discover", "offer"): 0, ("request", "ack"): 0, ("request", "nak"): 0,
                ("inform", "ack"): 0}
    reasons: dict[str, int] = {}
    if malformed is not None:
        reasons["malformed"] = malformed
    for (kind, outcome), count in sorted(counters.items()):
        if kind == "dropped":
            reasons[outcome] = reasons.get(outcome, 0) + count
            continue
        kind = kind.lower() if kind in MESSAGE_TYPE_NAMES.values() else "unknown"
        received[kind] = received.get(kind, 0) + count
        if outcome == "drop":
            dropped[kind] = dropped.get(kind, 0) + count
        else:
            answered[(kind, outcome)] = answered.get((kind, outcome), 0) + count
    out: list[str] = []

    def family(name, kind, text, samples):
        out.append("# HELP %s %s" % (name, text))
        out.append("# TYPE %s %s" % (name, kind))
        for labels, value in samples:
            out.append("%s%s %s" % (name, _labels(labels), _number(value)))

    family("apidhcpd_info", "gauge", "Version of this apidhcpd.", [({"version": version}, 1)])
    family("apidhcpd_peer_state", "gauge", "High-availability state of this node (1 = current).",
           [({"state": role}, 1)])
    family("apidhcpd_packets_received_total", "counter",
           "DHCP requests handled, by message type.",
           [({"type": k}, v) for k, v in sorted(received.items())])
    family("apidhcpd_packets_answered_total", "counter",
           "DHCP requests answered, by message type and reply.",
           [({"type": k, "reply": r}, v) for (k, r), v in sorted(answered.items())])
    family("apidhcpd_packets_dropped_total", "counter",
           "DHCP requests dropped without an answer, by message type.",
           [({"type": k}, v) for k, v in sorted(dropped.items())])
    family("apidhcpd_packets_dropped_by_reason_total", "counter",
           "Dropped packets of the kinds that are counted separately, by reason.",
           [({"reason": k}, v) for k, v in sorted(reasons.items())])
    family("apidhcpd_naks_total", "counter", "DHCPNAKs sent.",
           [({}, sum(v for (_, r), v in answered.items() if r == "nak"))])
    family("apidhcpd_store_up", "gauge", "1 when the store (Redis) answers.",
           [({}, 1 if store_up else 0)])
    family("apidhcpd_pool_size", "gauge", "Addresses in a dynamic pool.",
           [({"pool": p["name"]}, p["size"]) for p in pools])
    family("apidhcpd_leases", "gauge", "Unexpired leases in a dynamic pool, by state.",
           [({"pool": p["name"], "state": s}, p[s]) for p in pools
            for s in ("bound", "offered", "declined")])
    family("apidhcpd_pool_utilisation", "gauge",
           "(bound + offered) / size of a dynamic pool.",
           [({"pool": p["name"]}, p["utilisation"]) for p in pools])
    if pools_age is not None:
        family("apidhcpd_pool_figures_age_seconds", "gauge",
               "How old the pool figures above are (counted in the background).",
               [({}, round(pools_age, 3))])
    family("apidhcpd_store_call_errors_total", "counter", "Store calls that failed, by call.",
           [({"op": k}, v) for k, v in sorted((store_errors or {}).items())])
    if cache is not None:
        family("apidhcpd_inventory_cache_lookups_total", "counter",
               "Host lookups answered from the in-process inventory cache (hit) or the store.",
               [({"result": "hit"}, cache["hits"]), ({"result": "miss"}, cache["misses"])])
        family("apidhcpd_inventory_cache_invalidations_total", "counter",
               "Inventory changes received from the store's change stream.",
               [({}, cache["invalidations"])])
    if latency is not None:
        name = "apidhcpd_store_call_seconds"
        out.append("# HELP %s Latency of store (Redis) calls, by call." % name)
        out.append("# TYPE %s histogram" % name)
        for op, series in sorted(latency.series.items()):
            total = 0
            for bound, count in zip(latency.buckets + ("+Inf",), series[:-1]):
                total += count
                le = bound if isinstance(bound, str) else repr(float(bound))
                out.append("%s_bucket%s %d" % (name, _labels({"op": op, "le": le}), total))
            out.append("%s_sum%s %s" % (name, _labels({"op": op}), _number(series[-1])))
            out.append("%s_count%s %d" % (name, _labels({"op": op}), total))
    return "\n".join(out) + "\n"


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{%s}" % ",".join('%s="%s"' % (k, str(v).replace("\\", "\\\\").replace('"', '\\"')
                                          .replace("\n", "\\n")) for k, v in labels.items())


def _number(value) -> str:
    return str(value) if isinstance(value, int) else repr(float(value))
