"""The DHCPv6 metric families: what the DHCPv6 servers count, as metrics.py renders DHCPv4's.

Knows the DHCPv6 server's counter keys ((message type name, outcome), ("dropped", kind): one
Counters for every interface, tap.py's) and the message types it acts on; reads them, and the
DHCPv6 protocols' malformed count, at scrape time into families of their own
(`apidhcpd_dhcp6_...`, so that DHCPv4's series keep their meaning). Knows nothing of HTTP or
of prometheus_client's registry (metrics.ServerMetrics yields these families).
"""

from collections.abc import Hashable, Iterator, Mapping

from prometheus_client.core import CounterMetricFamily

from apidhcpd.dhcp6.options import MessageType as T

# the message types a server acts on (dhcp6/handlers.py's ACTED_ON), and the replies each gets
ACTED_ON = (T.SOLICIT, T.REQUEST, T.CONFIRM, T.RENEW, T.REBIND, T.RELEASE, T.DECLINE,
            T.INFORMATION_REQUEST)
REPLIES = ("advertise", "reply")


def type_label(name: str) -> str:
    """A message type's name as a label: INFORMATION_REQUEST -> information-request."""
    return name.lower().replace("_", "-")


def tally6(counters: Mapping[Hashable, int], malformed: int | None = None):
    """The DHCPv6 counters as the families count them: (received by type, answered by (type,
    reply), dropped by type, dropped by reason); a type the server does not act on counts as
    "unknown"."""
    known = {type_label(t.name) for t in ACTED_ON}
    received = dict.fromkeys(sorted(known), 0)
    dropped = dict(received)
    answered = {(name, "reply"): 0 for name in known}
    answered[("solicit", "advertise")] = 0  # "reply": a SOLICIT with Rapid Commit
    reasons: dict[str, int] = {}
    if malformed is not None:
        reasons["malformed"] = malformed
    for key, count in sorted(counters.items(), key=str):
        kind, outcome = str(key[0]), str(key[1])  # type: ignore[index]  # Counters' pairs
        if kind == "dropped":
            reasons[outcome] = reasons.get(outcome, 0) + count
            continue
        kind = type_label(kind) if type_label(kind) in known else "unknown"
        received[kind] = received.get(kind, 0) + count
        if outcome == "drop":
            dropped[kind] = dropped.get(kind, 0) + count
        else:
            answered[(kind, outcome)] = answered.get((kind, outcome), 0) + count
    return received, answered, dropped, reasons


def families6(counters: Mapping[Hashable, int], malformed: int | None) -> Iterator:
    """The four DHCPv6 packet families, beside DHCPv4's."""
    received, answered, dropped, reasons = tally6(counters, malformed)
    for name, text, labels, samples in (
            ("received", "DHCPv6 messages handled, by message type.", ["type"],
             [([k], v) for k, v in sorted(received.items())]),
            ("answered", "DHCPv6 messages answered, by message type and reply.",
             ["type", "reply"], [([k, r], v) for (k, r), v in sorted(answered.items())]),
            ("dropped", "DHCPv6 messages dropped without an answer, by message type.",
             ["type"], [([k], v) for k, v in sorted(dropped.items())]),
            ("dropped_by_reason", "Dropped DHCPv6 datagrams of the kinds counted "
             "separately, by reason.", ["reason"],
             [([k], v) for k, v in sorted(reasons.items())])):
        family = CounterMetricFamily("apidhcpd_dhcp6_packets_%s_total" % name, text,
                                     labels=labels)
        for values, value in samples:
            family.add_metric(values, value)
        yield family
