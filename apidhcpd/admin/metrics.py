"""Prometheus metrics: what the packet path counts, and how a scrape turns it into the
exposition format (prometheus_client).

The packet path keeps plain counters and never calls prometheus_client: the DHCPServer's
outcome counters ((message type, outcome) -> count, and ("dropped", kind) for drops with a
kind; the DHCPv6 servers' alike, rendered by metrics6.py), the protocol's malformed count,
the inventory cache's hits, and TimedStore, which wraps a store and times every
IStore/IStore6/IAdmin/IAdmin6 call into a Histogram of plain bucket counts. At scrape
time ServerMetrics, a collector on a registry of its own, reads them and PoolFigures
(store/pools.py: how full each dynamic pool is, counted in the background so that a scrape
costs nothing) into metric families. Knows nothing of HTTP: routes_leases.py serves page() at
/metrics.
"""

import bisect
import time

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from twisted.python.failure import Failure
from zope.interface import directlyProvides, providedBy

from apidhcpd.admin.metrics6 import families6
from apidhcpd.dhcp4.options import EXCHANGE_NAMES
from apidhcpd.store.contract import IAdmin, IStore
from apidhcpd.store.contract6 import IAdmin6, IStore6

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4.encode()  # what generate_latest writes
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
ACTED_ON = ("DISCOVER", "REQUEST", "DECLINE", "RELEASE", "INFORM", "BOOTP")


class Histogram:
    """Observations by label (a store method name) into fixed buckets, as Prometheus counts
    them; plain lists, cheap on the packet path (ServerMetrics reads them at scrape time)."""

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
    """A store whose IStore, IStore6, IAdmin and IAdmin6 calls are timed into `latency` (by
    method name) and whose failed calls are counted in `errors`; every other attribute is the
    wrapped store's."""

    def __init__(self, store, timer=time.perf_counter):
        self._store = store
        self._timer = timer
        self.latency = Histogram()
        self.errors: dict[str, int] = {}
        directlyProvides(self, providedBy(store))
        for name in (set(IStore.names()) | set(IStore6.names()) | set(IAdmin.names())
                     | set(IAdmin6.names())) \
                - {"watch"}:
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


def tally(counters, malformed: int | None = None):
    """The server's outcome counters as the families count them: (received by type, answered
    by (type, reply), dropped by type, dropped by reason); a type the server does not act on
    counts as "unknown"."""
    received = {name.lower(): 0 for name in ACTED_ON}
    dropped = dict(received)
    answered = {("discover", "offer"): 0, ("request", "ack"): 0, ("request", "nak"): 0,
                ("inform", "ack"): 0, ("bootp", "bootreply"): 0}
    reasons: dict[str, int] = {}
    if malformed is not None:
        reasons["malformed"] = malformed
    for (kind, outcome), count in sorted(counters.items()):
        if kind == "dropped":
            reasons[outcome] = reasons.get(outcome, 0) + count
            continue
        kind = kind.lower() if kind in EXCHANGE_NAMES.values() else "unknown"
        received[kind] = received.get(kind, 0) + count
        if outcome == "drop":
            dropped[kind] = dropped.get(kind, 0) + count
        else:
            answered[(kind, outcome)] = answered.get((kind, outcome), 0) + count
    return received, answered, dropped, reasons


def _family(kind, name: str, text: str, labels=(), samples=()):
    family = kind(name, text, labels=list(labels))
    for values, value in samples:
        family.add_metric(list(values), value)
    return family


class ServerMetrics:
    """The /metrics page of one server: a prometheus_client collector, on a registry of its own
    (never the global one), that reads at scrape time `server`'s counters, `store`'s latency,
    errors and cache figures (where it has them), `protocol`'s malformed count, `pools`
    (PoolFigures), `role()`, and the DHCPv6 servers' `counters6` and `protocol6`'s malformed
    count (metrics6.py; zeros where DHCPv6 is not served)."""

    def __init__(self, server, store, pools, protocol=None, role=lambda: "standalone",
                 version: str = "", counters6=None, protocol6=None):
        self.server = server
        self.counters6 = counters6 if counters6 is not None else {}
        self.protocol6 = protocol6
        self.store = store
        self.pools = pools
        self.protocol = protocol
        self.role = role
        self.version = version
        self.store_up = True
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def page(self, store_up: bool = True) -> bytes:
        """The exposition text; `store_up`: whether the store answered this scrape's ping and
        pool count (without it, no pool figures)."""
        self.store_up = store_up
        return generate_latest(self.registry)

    def collect(self):
        received, answered, dropped, reasons = tally(
            self.server.counters, getattr(self.protocol, "malformed", None))
        pools = (self.pools.figures or []) if self.store_up else []
        yield _family(GaugeMetricFamily, "apidhcpd_info", "Version of this apidhcpd.",
                      ["version"], [([self.version], 1)])
        yield _family(GaugeMetricFamily, "apidhcpd_peer_state",
                      "High-availability state of this node (1 = current).", ["state"],
                      [([self.role()], 1)])
        yield _family(CounterMetricFamily, "apidhcpd_packets_received_total",
                      "DHCP requests handled, by message type.", ["type"],
                      [([k], v) for k, v in sorted(received.items())])
        yield _family(CounterMetricFamily, "apidhcpd_packets_answered_total",
                      "DHCP requests answered, by message type and reply.", ["type", "reply"],
                      [([k, r], v) for (k, r), v in sorted(answered.items())])
        yield _family(CounterMetricFamily, "apidhcpd_packets_dropped_total",
                      "DHCP requests dropped without an answer, by message type.", ["type"],
                      [([k], v) for k, v in sorted(dropped.items())])
        yield _family(CounterMetricFamily, "apidhcpd_packets_dropped_by_reason_total",
                      "Dropped packets of the kinds that are counted separately, by reason.",
                      ["reason"], [([k], v) for k, v in sorted(reasons.items())])
        yield _family(CounterMetricFamily, "apidhcpd_naks_total", "DHCPNAKs sent.", (),
                      [((), sum(v for (_, r), v in answered.items() if r == "nak"))])
        yield from families6(self.counters6, getattr(self.protocol6, "malformed", None))
        yield _family(GaugeMetricFamily, "apidhcpd_store_up", "1 when the store (Redis) answers.",
                      (), [((), 1 if self.store_up else 0)])
        yield _family(GaugeMetricFamily, "apidhcpd_pool_size", "Addresses in a dynamic pool.",
                      ["pool"], [([p["name"]], p["size"]) for p in pools])
        yield _family(GaugeMetricFamily, "apidhcpd_leases",
                      "Unexpired leases in a dynamic pool, by state.", ["pool", "state"],
                      [([p["name"], s], p[s]) for p in pools
                       for s in ("bound", "offered", "declined")])
        yield _family(GaugeMetricFamily, "apidhcpd_pool_utilisation",
                      "(bound + offered) / size of a dynamic pool.", ["pool"],
                      [([p["name"]], p["utilisation"]) for p in pools])
        age = self.pools.age()
        if age is not None:
            yield _family(GaugeMetricFamily, "apidhcpd_pool_figures_age_seconds",
                          "How old the pool figures above are (counted in the background).",
                          (), [((), round(age, 3))])
        errors = getattr(self.store, "errors", None) or {}
        yield _family(CounterMetricFamily, "apidhcpd_store_call_errors_total",
                      "Store calls that failed, by call.", ["op"],
                      [([k], v) for k, v in sorted(errors.items())])
        cache = getattr(self.store, "cache_stats", None)
        if cache is not None:
            yield _family(CounterMetricFamily, "apidhcpd_inventory_cache_lookups_total",
                          "Host lookups answered from the in-process inventory cache (hit) or "
                          "the store.", ["result"],
                          [(["hit"], cache["hits"]), (["miss"], cache["misses"])])
            yield _family(CounterMetricFamily, "apidhcpd_inventory_cache_invalidations_total",
                          "Inventory changes received from the store's change stream.", (),
                          [((), cache["invalidations"])])
        latency = getattr(self.store, "latency", None)
        if latency is not None:
            yield _latency(latency)


def _latency(latency: Histogram) -> HistogramMetricFamily:
    family = HistogramMetricFamily("apidhcpd_store_call_seconds",
                                   "Latency of store (Redis) calls, by call.", labels=["op"])
    bounds = [repr(float(bound)) for bound in latency.buckets] + ["+Inf"]
    for op, series in sorted(latency.series.items()):
        total, buckets = 0, []
        for bound, count in zip(bounds, series[:-1]):
            total += count
            buckets.append((bound, total))
        family.add_metric([op], buckets, series[-1])
    return family
