"""STAND-IN, to be deleted: inventory/allocation6.py (branch v6store) replaces every name here.

The least of allocation6's rules the server needs until that branch is merged: an IA's pool
(`source6`: a `subnet6:` hash's `range` for IA_NA, its `pd-pool` for IA_PD) and its lifetimes
(`lifetimes`), with allocation6's names and signatures, so the switch is an import. Pure.
"""

import ipaddress
from collections.abc import Mapping

import attr

from apidhcpd.inventory.durations import DEFAULT_LEASE_TIME, parse_duration
from apidhcpd.store.contract6 import NA, Source6


@attr.s(frozen=True, slots=True)
class Lifetimes:
    preferred: int = attr.ib()
    valid: int = attr.ib()
    t1: int = attr.ib()
    t2: int = attr.ib()


def _seconds(layers: tuple[Mapping[str, str], ...], name: str) -> int | None:
    for fields in layers:
        if fields.get(name):
            try:
                return parse_duration(fields[name])
            except ValueError:
                continue
    return None


def lifetimes(*layers: Mapping[str, str]) -> Lifetimes:
    """Most specific layer first: `valid-lifetime`, else `lease-time`, else 24 h;
    `preferred-lifetime` else half of it; `t1`/`t2` else 0.5 and 0.8 of the preferred."""
    valid = _seconds(layers, "valid-lifetime") or _seconds(layers, "lease-time") \
        or DEFAULT_LEASE_TIME
    preferred = min(_seconds(layers, "preferred-lifetime") or max(1, valid // 2), valid)
    t2 = _seconds(layers, "t2") or preferred * 4 // 5
    return Lifetimes(preferred, valid, min(_seconds(layers, "t1") or preferred // 2, t2), t2)


def source6(subnet: str, subnet_fields: Mapping[str, str], kind: str) -> Source6 | None:
    """`range` (`first-last, ...`) for NA, `pd-pool` (`<prefix>/<len> <delegated>, ...`)
    for PD; None when nothing reads."""
    ranges, prefixes, delegated = [], [], 0
    name = "range" if kind == NA else "pd-pool"
    for part in filter(None, (p.strip() for p in subnet_fields.get(name, "").split(","))):
        try:
            if kind == NA:
                first, _, last = part.partition("-")
                ranges.append((int(ipaddress.IPv6Address(first.strip())),
                               int(ipaddress.IPv6Address((last or first).strip()))))
            else:
                net, length = part.split()
                network = ipaddress.IPv6Network(net)
                prefixes.append((int(network.network_address), network.prefixlen))
                delegated = int(length)
        except ValueError:
            continue
    if kind == NA:
        return Source6(subnet, ranges=tuple(ranges)) if ranges else None
    return Source6(subnet + "#pd", prefixes=tuple(prefixes), delegated=delegated) \
        if prefixes else None
