"""MemoryAdmin6: IAdmin6 (the admin's DHCPv6 reads) in process memory, the mixin MemoryStore
inherits beside Memory6; the reference redisadmin6.py must match (tests/test_admin6_store.py
runs the same tests on both).

Knows the lease records Memory6 keeps (`leases6`), the `subnets6` index and the host hashes of
MemoryStore's `data`; reads only. Knows nothing of packets or Redis.
"""

from collections.abc import Sequence

from twisted.internet import defer
from twisted.internet.defer import Deferred

from apidhcpd.inventory import allocation6
from apidhcpd.inventory.allocation6 import NA, PD
from apidhcpd.store import keys
from apidhcpd.store.contract6 import Lease6Record
from apidhcpd.store.memory6 import Record6

STATES = ("bound", "offered", "declined")  # what a tally counts


def record(value: str, found: Record6) -> Lease6Record:
    """A lease record as the admin reads it (a declined value has no IA)."""
    ia = found.ia
    return Lease6Record(value, ia.duid if ia else "", ia.iaid if ia else None,
                        PD if "/" in value else NA, found.state, found.expires, found.pool,
                        found.mac)


class MemoryAdmin6:
    """IAdmin6 in memory; MemoryStore and Memory6 provide the state it reads."""

    data: dict[str, dict[str, str]]
    leases6: dict[str, Record6]
    subnets6: set[str]

    def leases6_page(self, offset: int = 0, count: int = 1000) -> Deferred[list[Lease6Record]]:
        ordered = sorted(self.leases6.items(), key=lambda item: (item[1].expires, item[0]))
        return defer.succeed([record(value, found)
                              for value, found in ordered[offset:offset + count]])

    def lease6_count(self) -> Deferred[int]:
        return defer.succeed(len(self.leases6))

    def lease6_at(self, value: str) -> Deferred[Lease6Record | None]:
        found = self.leases6.get(value)
        return defer.succeed(record(value, found) if found else None)

    def subnet6_of(self, address: str) -> Deferred[str | None]:
        live = [n for n in self.subnets6 if self.data.get(keys.subnet6(n))]
        return defer.succeed(allocation6.longest_match6(address, live))

    def holders6(self, value: str) -> Deferred[list[str]]:
        return defer.succeed(sorted(key for key, fields in self.data.items()
                                    if key.startswith(keys.HOST_PREFIXES6)
                                    and value in allocation6.reservations6(fields)))

    def pool6_tally(self, names: Sequence[str], now: int) -> Deferred[list[dict[str, int]]]:
        tallies = {name: dict.fromkeys(STATES, 0) for name in names}
        for found in self.leases6.values():
            counts = tallies.get(found.pool) if found.pool else None
            if counts is not None and found.expires > now and found.state in counts:
                counts[found.state] += 1
        return defer.succeed([tallies[name] for name in names])
