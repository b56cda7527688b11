"""IAdmin6 on Redis: the admin's reads of the DHCPv6 side (the leases, the subnet6 of an
address, the hosts reserving a value, the pool tallies), each call looking at a bounded number
of keys or leases (lua/admin_*6.lua over common.lua and common6.lua). RedisStore inherits it.

Knows the DHCPv6 keys as far as the admin needs them (docs/redis.md, "DHCPv6"); knows nothing
of the packet path (redis6.py) or of how commands reach Redis (redisconn.py).
"""

from collections.abc import Sequence

from twisted.internet import defer
from twisted.internet.defer import Deferred

from apidhcpd.store import keys
from apidhcpd.store.contract6 import Lease6Record
from apidhcpd.store.redisadmin import ADMIN_STEP, Steps
from apidhcpd.store.redisconn import RedisConnection

STATES = ("bound", "offered", "declined")  # what a tally counts


def _record(value: str, fields: Sequence[str]) -> Lease6Record:
    """A record from (duid, iaid, kind, state, expires, pool, mac), as admin_leases6.lua and
    HMGET read them ("" for a missing field)."""
    duid, iaid, kind, state, expires, pool, mac = (field or "" for field in fields)
    return Lease6Record(value, duid, int(iaid) if iaid.isdigit() else None,
                        kind or ("pd" if "/" in value else "na"), state, int(expires), pool, mac)


class RedisAdmin6(RedisConnection):
    """The IAdmin6 half of RedisStore. `trust_reserved_index` is RedisAdmin's (tap.py sets
    it for the API): holders6 then asks `reserved6` before it walks."""

    trust_reserved_index: bool  # RedisAdmin's

    def leases6_page(self, offset: int = 0,
                     count: int = 1000) -> "Deferred[list[Lease6Record]]":
        def records(flat: Sequence[str]) -> list[Lease6Record]:
            return [_record(flat[i], flat[i + 1:i + 8]) for i in range(0, len(flat), 8)]

        return self._eval("admin_leases6", (), [offset, count], deadline=True).addCallback(
            records)

    def lease6_count(self) -> "Deferred[int]":
        return self._call("zcard", keys.LEASES6).addCallback(int)

    @defer.inlineCallbacks
    def lease6_at(self, value: str) -> Steps:
        fields = yield self._call("hmget", keys.lease6(value),
                                  ["duid", "iaid", "kind", "state", "expires", "pool", "mac"])
        return _record(value, fields) if fields[4] else None

    def subnet6_of(self, address: str) -> "Deferred[str | None]":
        return self._eval("admin_subnet6_of", (), [address], deadline=True).addCallback(
            lambda key: keys.network6(key) if key else None)

    @defer.inlineCallbacks
    def holders6(self, value: str) -> Steps:
        """By a walk over every key, ADMIN_STEP keys per call (admin_find6.lua); with a
        trusted index, only when `reserved6` holds the value (rare: a conflict)."""
        if self.trust_reserved_index and not int(
                (yield self._call("sismember", keys.RESERVED6, value))):
            return []
        found: set[str] = set()
        cursor = "0"
        while True:
            reply = yield self._eval("admin_find6", (), [cursor, ADMIN_STEP, value,
                                                         *keys.HOST_PREFIXES6], deadline=True)
            cursor = str(reply[0])
            found.update(reply[1:])
            if cursor == "0":
                return sorted(found)

    @defer.inlineCallbacks
    def pool6_tally(self, names: Sequence[str], now: int) -> Steps:
        tallies = [dict.fromkeys(STATES, 0) for _ in names]
        position = 0
        while names:
            reply = yield self._eval("admin_tally6", (), [now, position, ADMIN_STEP, *names],
                                     deadline=True)
            for i in range(1, len(reply), 2):
                index, state = reply[i].split(" ")
                counts = tallies[int(index) - 1]
                counts[state] = counts.get(state, 0) + int(reply[i + 1])
            position += int(reply[0])
            if int(reply[0]) < ADMIN_STEP:
                break
        return tallies
