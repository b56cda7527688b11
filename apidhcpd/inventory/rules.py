"""What the stored text of a host, group or subnet means for a dynamic client's address: the
one Python reading of `range` and `lease-time` on the allocation path.

Knows where a dynamic address comes from (the winning client class's range on the request's
subnet, else the subnet's ranges, else the group's, plus the seed's `pool` hash) and which
`lease-time` wins (host over the matched classes over group over subnet over group:default). The
Redis store's common.lua reads the same text with the same strictness (source_of,
lease_time_of there; tests/test_store.py's RulesAgreeTests pin the two together). Knows nothing
of packets or storage: it is given the hashes' fields.
"""

import functools
from collections.abc import Mapping, Sequence

import attr

from apidhcpd.inventory import classes
from apidhcpd.inventory.allocation import Range, lenient_ranges
from apidhcpd.inventory.durations import DEFAULT_LEASE_TIME, parse_duration

SEED_POOL_GROUP = "pool"  # the seed's group whose clients also draw from the `pool` hash
DEFAULT_GROUP = "default"


@attr.s(frozen=True, slots=True)
class AddressSource:
    """Where dynamic addresses for a group come from: its ranges, and the seed's `pool` hash.
    `name` also names the pool's free list and cursor (a subnet, or the group)."""

    name: str = attr.ib()
    ranges: tuple[Range, ...] = attr.ib(default=())
    seed_pool: bool = attr.ib(default=False)


def address_source(group_name: str, group_fields: Mapping[str, str], subnet: str | None,
                   subnet_fields: Mapping[str, str],
                   matched: Sequence[classes.Class] = ()) -> AddressSource:
    """The range of the winning class among `matched` (classes.matched's order) that has one
    on the subnet (classes.range_class); else the subnet's ranges when the request is on a
    `subnet:`, else the group's, plus the seed's `pool` hash for group:pool or a group without
    ranges. A `range` part that does not read (allocation.parse_ranges) is skipped, the others
    serve."""
    by_class = classes.range_class(matched, subnet)
    if by_class is not None:
        return AddressSource(*by_class)
    if subnet:
        return AddressSource(subnet, lenient_ranges(subnet_fields.get("range", "")))
    ranges = lenient_ranges(group_fields.get("range", ""))
    return AddressSource(group_name, ranges,
                         seed_pool=not ranges or group_name == SEED_POOL_GROUP)


def lease_time(*candidates: Mapping[str, str]) -> int:
    """The `lease-time` of the first of `candidates` (most specific first) that sets one, in
    seconds; DEFAULT_LEASE_TIME when none does or it does not read."""
    for fields in candidates:
        text = fields.get("lease-time")
        if text:
            return lease_seconds(text)
    return DEFAULT_LEASE_TIME


@functools.lru_cache(maxsize=256)
def lease_seconds(text: str) -> int:
    """A `lease-time` value in seconds (durations.parse_duration: 1 to 4294967294), or
    DEFAULT_LEASE_TIME when it does not read."""
    try:
        return parse_duration(text)
    except ValueError:
        return DEFAULT_LEASE_TIME
