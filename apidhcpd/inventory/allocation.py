"""Pure rules for choosing addresses: no I/O, no clock.

Knows when an address is free for a client and how dynamic ranges are walked. The same rules
are written in Lua in `lua/offer.lua` and `lua/commit.lua` (Redis runs them atomically); the
store contract tests hold both to the same behaviour.

Precedence for a dynamic client: its current lease > the address it asks for > the seed's
`pool` hash > the group's ranges, in address order after the last address handed out (an
iterative allocator; in Redis a free list, so that a full /16 costs what an empty /28 does).
A reservation (`ip` on a host without `dynamic`) is never handed to another client.
"""

import bisect
import functools
import re
import socket
import struct
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

Range = tuple[int, int]


def ip_to_int(ip: str) -> int:
    value: int = struct.unpack("!I", socket.inet_aton(ip))[0]
    return value


def int_to_ip(value: int) -> str:
    return socket.inet_ntoa(struct.pack("!I", value))


SPACE = " \t\n\v\f\r"  # what is trimmed around a part (Lua's %s, so common.lua agrees)
_DOTTED = re.compile(r"(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})"
                     r"\.(0|[1-9][0-9]{0,2})")


def range_address(text: str) -> int:
    """An address as a `range` writes it: four decimal numbers 0-255 without leading zeros
    (inet_aton's short, octal and hex forms are not taken: common.lua reads the same form).
    ValueError if it is not one."""
    match = _DOTTED.fullmatch(text)
    if match is None or any(int(part) > 255 for part in match.groups()):
        raise ValueError("bad address %r" % (text,))
    a, b, c, d = (int(part) for part in match.groups())
    return ((a * 256 + b) * 256 + c) * 256 + d


def parse_ranges(text: str) -> tuple[Range, ...]:
    """`192.0.2.10-192.0.2.99, 192.0.2.200` -> ((start, end), ...); ValueError if a part is bad."""
    ranges = []
    for part in filter(None, (p.strip(SPACE) for p in text.split(","))):
        first, sep, last = part.partition("-")
        if not sep:
            first = last = part
        try:
            start, end = range_address(first.strip(SPACE)), range_address(last.strip(SPACE))
        except ValueError:
            raise ValueError("bad address range %r" % (part,)) from None
        if start > end:
            raise ValueError("range %r runs backwards" % (part,))
        ranges.append((start, end))
    return tuple(ranges)


@functools.lru_cache(maxsize=1024)
def lenient_ranges(text: str) -> tuple[Range, ...]:
    """parse_ranges() that skips the parts it cannot read, as common.lua's ranges_from_text."""
    ranges: list[Range] = []
    for part in text.split(","):
        try:
            ranges.extend(parse_ranges(part))
        except ValueError:
            continue
    return tuple(ranges)


def in_ranges(ip: str, ranges: Sequence[Range]) -> bool:
    try:
        value = ip_to_int(ip)
    except OSError:
        return False
    return any(start <= value <= end for start, end in ranges)


class SubnetIndex:
    """Networks (`192.0.2.0/24`, the `subnet:` keys without their prefix) by length, for a
    longest match in a few dict lookups. A key with host bits set matches nothing, as in
    common.lua's search."""

    def __init__(self, subnets: Mapping[str, Any]):
        self.fields = subnets  # "192.0.2.0/24" -> its fields (or anything)
        self._by_length: dict[int, dict[int, str]] = {}
        for name in subnets:
            address, _, length = name.partition("/")
            try:
                size = int(length)
                start = ip_to_int(address)
            except (ValueError, OSError):
                continue
            if 0 <= size <= 32 and start % (1 << (32 - size)) == 0:  # as common.lua finds them
                self._by_length.setdefault(size, {})[start] = name
        self._lengths = sorted(self._by_length, reverse=True)

    def match(self, ip: str) -> str:
        """The most specific subnet holding ip, or ""."""
        try:
            value = ip_to_int(ip)
        except OSError:
            return ""
        for size in self._lengths:
            found = self._by_length[size].get(value - value % (1 << (32 - size)))
            if found is not None:
                return found
        return ""


def longest_match(ip: str, networks: Sequence[str]) -> str | None:
    """The most specific of `networks` (`192.0.2.0/24`, ...) that holds ip, or None."""
    return SubnetIndex(dict.fromkeys(networks)).match(ip) or None


def scan_after(ranges: Sequence[Range], after: int) -> Iterator[str]:
    """Every address of the ranges once, in address order from the first one above `after`
    (the last address handed out, -1 for none) round to the lowest: common.lua's free list."""
    numbers = sorted({n for start, end in ranges for n in range(start, end + 1)})
    split = bisect.bisect_right(numbers, after)
    for value in numbers[split:] + numbers[:split]:
        yield int_to_ip(value)


def available(ip: str, mac: str, now: int, *, reserved: bool, lease_mac: str | None,
              lease_expires: int, pool_owner: str) -> bool:
    """May `mac` take `ip`? Not if reserved, leased to another until later, or owned in the
    seed's pool by another MAC with no lease record (the Go prototype's allocations)."""
    if reserved:
        return False
    if lease_mac is not None and lease_mac != mac and lease_expires > now:
        return False
    if pool_owner not in ("", mac) and lease_mac is None:
        return False
    return True
