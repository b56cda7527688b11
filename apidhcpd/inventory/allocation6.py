"""Pure rules for DHCPv6 addresses and delegated prefixes: no I/O, no clock.

Knows how a `subnet6:` hash's `range` and `pd-pool` read, what a pool's positions are (the n-th
address of its ranges, the n-th prefix of its pool prefixes), which lifetimes an IA gets, and
the one text form of every value (RFC 5952: `ipaddress`'s `compressed`). The Redis store's
lua/common6.lua reads and writes the same texts the same way (tests/test_store6.py's agreement
tests hold the two together). Knows nothing of packets or storage.

Allocation (both stores): the IA's current value, a hint, the pool's free list (values given
back, oldest first), then a cursor over the pool's positions that probes at most PROBES of them
per call, wrapping. A pool has at most CAP positions: Lua's numbers are doubles, exact to 2^53,
so the cursor walks the first 2^52 addresses of a /64 (that many clients never come), while a
hint or a commit anywhere in the range is still in the pool.
"""

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attr

from apidhcpd.inventory.durations import DEFAULT_LEASE_TIME, parse_duration

NA, PD = "na", "pd"  # the two kinds of identity association served (IA_TA is not)
CAP = 2 ** 52  # positions a pool's cursor walks at most (common6.lua's CAP)
PROBES = 32  # cursor positions one allocation looks at, at most (common6.lua's PROBES)
FREE_TRIES = 8  # free-list entries one allocation takes and checks, at most
MAX_HINTS = 4  # a client's hints looked at per IA, at most
SPACE = " \t\n\v\f\r"  # what is trimmed around a part (Lua's %s, so common6.lua agrees)
ALL = (1 << 128) - 1

Range6 = tuple[int, int]  # first, last address as 128-bit integers
Prefix6 = tuple[int, int]  # network as a 128-bit integer, prefix length


@attr.s(frozen=True, slots=True)
class Source6:
    """Where an IA's dynamic values come from: `name` names the pool (its cursor, free list
    and the leases' `pool` field); NA draws addresses from `ranges` (first, last as 128-bit
    integers), PD draws prefixes of `delegated` bits from `prefixes` ((network as a 128-bit
    integer, prefix length), ...)."""

    name: str = attr.ib()
    ranges: tuple[Range6, ...] = attr.ib(default=())
    prefixes: tuple[Prefix6, ...] = attr.ib(default=())
    delegated: int = attr.ib(default=64)


@attr.s(frozen=True, slots=True)
class Lifetimes:
    """What an IA's options carry, in seconds (RFC 8415 21.4, 21.6, 21.22)."""

    preferred: int = attr.ib()
    valid: int = attr.ib()
    t1: int = attr.ib()
    t2: int = attr.ib()


_GROUP = re.compile(r"[0-9a-fA-F]{1,4}")


def _groups(text: str) -> list[int]:
    if text == "":
        return []
    parts = text.split(":")
    if not all(_GROUP.fullmatch(part) for part in parts):
        raise ValueError("bad IPv6 address")
    return [int(part, 16) for part in parts]


def address6(text: str) -> int:
    """An IPv6 address in hex groups (`2001:db8::1`, `2001:0DB8:0:0:0:0:0:1`; no zone, no
    embedded IPv4, no spaces) as a 128-bit integer; ValueError if it is not one."""
    if not 2 <= len(text) <= 39:
        raise ValueError("bad IPv6 address %r" % (text,))
    head, sep, tail = text.partition("::")
    try:
        first, last = _groups(head), _groups(tail)
    except ValueError:
        raise ValueError("bad IPv6 address %r" % (text,)) from None
    if (sep and len(first) + len(last) > 7) or (not sep and len(first) != 8):
        raise ValueError("bad IPv6 address %r" % (text,))
    value = 0
    for group in first + [0] * (8 - len(first) - len(last)) + last:
        value = value << 16 | group
    return value


def format6(value: int) -> str:
    """A 128-bit integer as RFC 5952 text: lower case, no leading zeros, `::` for the longest
    run of two or more zero groups (the first of equal runs)."""
    groups = [(value >> (112 - 16 * i)) & 0xFFFF for i in range(8)]
    best, best_len, run = -1, 1, 0
    for i, group in enumerate(groups + [1]):
        if group == 0:
            run += 1
        else:
            if run > best_len:
                best, best_len = i - run, run
            run = 0
    words = ["%x" % g for g in groups]
    if best < 0:
        return ":".join(words)
    return ":".join(words[:best]) + "::" + ":".join(words[best + best_len:])


def mask(value: int, length: int) -> int:
    """value with every bit after the first `length` cleared."""
    return value & (ALL ^ (ALL >> length)) if length else 0


def prefix6(text: str) -> Prefix6:
    """`2001:db8:100::/56` as (network, length): length 0-128 in decimal, no bit set after
    the length; ValueError otherwise."""
    address, sep, length = text.partition("/")
    if not sep or not length.isascii() or not length.isdigit() or int(length) > 128:
        raise ValueError("bad IPv6 prefix %r" % (text,))
    network, size = address6(address), int(length)
    if mask(network, size) != network:
        raise ValueError("%r has bits set after its length" % (text,))
    return network, size


def format_prefix(network: int, length: int) -> str:
    return "%s/%d" % (format6(network), length)


def canonical(text: str) -> str | None:
    """A value as the stores key it: an address or an `address/length` prefix in RFC 5952
    form; None when it is neither (common6.lua's canonical)."""
    try:
        if "/" in text:
            return format_prefix(*prefix6(text))
        return format6(address6(text))
    except ValueError:
        return None


def _parts(text: str) -> list[str]:
    return [part for part in (p.strip(SPACE) for p in text.split(",")) if part]


def parse_ranges6(text: str) -> tuple[Range6, ...]:
    """A `range`: `2001:db8::100-2001:db8::1ff, 2001:db8::5` -> ((first, last), ...);
    ValueError if a part is bad or runs backwards."""
    ranges = []
    for part in _parts(text):
        first, sep, last = part.partition("-")
        if not sep:
            last = first
        try:
            start, end = address6(first.strip(SPACE)), address6(last.strip(SPACE))
        except ValueError:
            raise ValueError("bad IPv6 address range %r" % (part,)) from None
        if start > end:
            raise ValueError("range %r runs backwards" % (part,))
        ranges.append((start, end))
    return tuple(ranges)


@functools.lru_cache(maxsize=1024)
def lenient_ranges6(text: str) -> tuple[Range6, ...]:
    """parse_ranges6() that skips the parts it cannot read (common6.lua's ranges6_from_text)."""
    ranges: list[Range6] = []
    for part in text.split(","):
        try:
            ranges.extend(parse_ranges6(part))
        except ValueError:
            continue
    return tuple(ranges)


_POOL = re.compile(r"([^ \t\n\v\f\r/]+/[0-9]+)[ \t\n\v\f\r]+([0-9]+)")


def _pd_part(part: str) -> tuple[Prefix6, int]:
    match = _POOL.fullmatch(part)
    if match is None:
        raise ValueError("bad pd-pool part %r (write <prefix>/<length> <delegated>)" % (part,))
    network, length = prefix6(match.group(1))
    delegated = int(match.group(2))
    if not length < delegated <= 128:
        raise ValueError("pd-pool part %r: the delegated length must be longer than the "
                         "pool's and at most 128" % (part,))
    return (network, length), delegated


def parse_pd_pool(text: str) -> tuple[tuple[Prefix6, ...], int]:
    """A `pd-pool`: `2001:db8:100::/40 56, 2001:db8:200::/40 56` -> (((network, length), ...),
    delegated length); ValueError if a part is bad or the parts delegate different lengths
    (one pool delegates one length). ((), 0) when there is no part."""
    prefixes, delegated = [], 0
    for part in _parts(text):
        prefix, length = _pd_part(part)
        if delegated and length != delegated:
            raise ValueError("pd-pool part %r delegates /%d, the pool /%d"
                             % (part, length, delegated))
        prefixes.append(prefix)
        delegated = length
    return tuple(prefixes), delegated


@functools.lru_cache(maxsize=1024)
def lenient_pd_pool(text: str) -> tuple[tuple[Prefix6, ...], int]:
    """parse_pd_pool() that skips the parts it cannot read and those delegating another
    length than the first part read (common6.lua's pd_pool_from_text)."""
    prefixes: list[Prefix6] = []
    delegated = 0
    for part in _parts(text):
        try:
            prefix, length = _pd_part(part)
        except ValueError:
            continue
        if delegated in (0, length):
            prefixes.append(prefix)
            delegated = length
    return tuple(prefixes), delegated


def source6(subnet: str, subnet_fields: Mapping[str, str], kind: str) -> Source6 | None:
    """The pool of a `subnet6:` hash for one kind of IA: its `range` for NA (pool `<subnet>`),
    its `pd-pool` for PD (pool `<subnet>#pd`); None when it has no part that reads."""
    if kind == NA:
        ranges = lenient_ranges6(subnet_fields.get("range", ""))
        return Source6(subnet, ranges=ranges) if ranges else None
    prefixes, delegated = lenient_pd_pool(subnet_fields.get("pd-pool", ""))
    return Source6(subnet + "#pd", prefixes=prefixes, delegated=delegated) if prefixes else None


def sizes(source: Source6) -> list[int]:
    """How many positions each range (NA) or pool prefix (PD) gives, in order, capped so that
    the whole pool has at most CAP."""
    if source.prefixes:
        raw = [1 << (source.delegated - length) for _, length in source.prefixes]
    else:
        raw = [last - first + 1 for first, last in source.ranges]
    out, total = [], 0
    for size in raw:
        size = min(size, CAP - total)
        out.append(size)
        total += size
    return out


def value_at(source: Source6, position: int) -> str:
    """The value at a position of the pool (0 <= position < sum(sizes(source))): the n-th
    address of the ranges, or the n-th prefix of the pool prefixes, in RFC 5952 form."""
    for i, size in enumerate(sizes(source)):
        if position < size:
            if source.prefixes:
                network = source.prefixes[i][0] + (position << (128 - source.delegated))
                return format_prefix(network, source.delegated)
            return format6(source.ranges[i][0] + position)
        position -= size
    raise IndexError("position beyond the pool")


def in_source(value: str, source: Source6) -> bool:
    """Is `value` (canonical) one the pool may give: an address in a range (NA), or a prefix of
    the delegated length inside a pool prefix (PD)? The cursor's CAP does not count here."""
    try:
        if source.prefixes:
            network, length = prefix6(value)
            return length == source.delegated and any(
                mask(network, size) == start for start, size in source.prefixes)
        number = address6(value)
    except ValueError:
        return False
    return any(first <= number <= last for first, last in source.ranges)


def reservations6(fields: Mapping[str, str]) -> tuple[str, ...]:
    """The values a host hash reserves: its `ip6` and `prefix6` in canonical form (a value
    that does not read reserves nothing)."""
    found = []
    for name in ("ip6", "prefix6"):
        value = canonical(fields.get(name, "").strip(SPACE))
        if value is not None and ("/" in value) == (name == "prefix6"):
            found.append(value)
    return tuple(found)


def network6(text: str) -> tuple[int, int] | None:
    """A `subnet6:` key's network (`2001:db8:1::/64`) as (network, length) when it is written
    in RFC 5952 form with no bit set after the length; None otherwise (never matched)."""
    try:
        network, length = prefix6(text)
    except ValueError:
        return None
    return (network, length) if format_prefix(network, length) == text else None


def longest_match6(address: str, networks: Sequence[str]) -> str | None:
    """The most specific of `networks` (canonical `subnet6:` networks) holding `address`."""
    try:
        number = address6(address)
    except ValueError:
        return None
    best: tuple[int, str] | None = None
    for text in networks:
        found = network6(text)
        if found and mask(number, found[1]) == found[0] and (best is None or found[1] > best[0]):
            best = (found[1], text)
    return best[1] if best else None


class SubnetIndex6:
    """`subnet6:` networks (canonical, without the prefix) by length, for a longest match in
    a few dict lookups, as lookup6.lua probes one key per length in use: the inventory cache's
    copy of longest_match6. A network not in RFC 5952 form matches nothing."""

    def __init__(self, subnets: Mapping[str, Any]):
        self.fields = subnets  # "2001:db8:1::/64" -> its fields (or anything)
        self._by_length: dict[int, dict[int, str]] = {}
        for text in subnets:
            found = network6(text)
            if found is not None:
                self._by_length.setdefault(found[1], {})[found[0]] = text
        self._lengths = sorted(self._by_length, reverse=True)

    def match(self, address: str) -> str:
        """The most specific network holding `address`, or ""."""
        try:
            number = address6(address)
        except ValueError:
            return ""
        for length in self._lengths:
            found = self._by_length[length].get(mask(number, length))
            if found is not None:
                return found
        return ""


def _seconds(layers: Sequence[Mapping[str, str]], name: str) -> int | None:
    """The first layer's `name` that reads as a duration; None when none does."""
    for fields in layers:
        text = fields.get(name)
        if text:
            try:
                return parse_duration(text)
            except ValueError:
                continue
    return None


def lifetimes(*layers: Mapping[str, str]) -> Lifetimes:
    """An IA's lifetimes from the inventory's layers, most specific first (host, class, group,
    subnet6, group:default). Each field is the first layer's that reads (durations.py):
    `valid-lifetime`, else `lease-time` (the DHCPv4 lease time), else 24 h; `preferred-lifetime`,
    else half the valid lifetime (Kea's 3600/7200), never above the valid one; `t1` and `t2`,
    else 0.5 and 0.8 of the preferred lifetime (RFC 8415 21.4), T1 never above T2."""
    valid = _seconds(layers, "valid-lifetime") or _seconds(layers, "lease-time") \
        or DEFAULT_LEASE_TIME
    preferred = min(_seconds(layers, "preferred-lifetime") or max(1, valid // 2), valid)
    t2 = _seconds(layers, "t2") or preferred * 4 // 5
    t1 = min(_seconds(layers, "t1") or preferred // 2, t2)
    return Lifetimes(preferred, valid, t1, t2)
