"""IAdmin on Redis: the admin API's and the CLI's reads and writes of the inventory, in calls
that each look at a bounded number of keys (paged scans, admin_*.lua), and the pool tallies.

Knows the key schema (docs/redis.md) as far as the admin needs it; knows nothing of the packet
path (redis.py) or of how commands reach Redis (redisconn.py).
"""

from collections.abc import Generator, Iterable, Sequence
from typing import Any

from twisted.internet import defer
from twisted.internet.defer import Deferred

from apidhcpd.store.contract import Lease
from apidhcpd.store.keys import CLASS, CLASSES, HOST_PREFIXES, HOST_PREFIXES6, SUBNET, SUBNET6
from apidhcpd.store.redisconn import RedisConnection, pairs

ADMIN_STEP = 500  # keys or leases one admin script call looks at (well under 1 ms of Redis)

Steps = Generator["Deferred[Any]", Any, Any]  # an inlineCallbacks body


class RedisAdmin(RedisConnection):
    """The IAdmin half of RedisStore."""

    @defer.inlineCallbacks
    def hashes(self, prefix: str) -> Steps:
        keys, cursor = set(), "0"
        if prefix == CLASS:  # the classes lookup.lua sees: by their index, not a walk
            keys = {CLASS + name for name in (yield self._call("smembers", CLASSES))}
        while prefix != CLASS:
            cursor, found = yield self._call("scan", cursor, _glob_escape(prefix) + "*", 1000)
            keys.update(found)
            if str(cursor) == "0":
                break
        ordered = sorted(keys)
        values = yield defer.gatherResults([self._call("hgetall", key) for key in ordered],
                                           consumeErrors=True)
        return {key: value for key, value in zip(ordered, values) if value}

    @defer.inlineCallbacks
    def get(self, key: str) -> Steps:
        found = yield self._call("hgetall", key)
        return found or None

    @defer.inlineCallbacks
    def put(self, key: str, fields: dict[str, str], mode: str = "replace") -> Steps:
        args = [mode] + (list(fields) if mode == "remove"
                         else [x for kv in fields.items() for x in kv])
        return pairs((yield self._eval("put", [key], args, deadline=True)))

    @defer.inlineCallbacks
    def delete(self, key: str) -> Steps:
        existed = yield self._call("exists", key)
        yield self.put(key, {}, "replace")
        return bool(existed)

    @defer.inlineCallbacks
    def leases(self, offset: int = 0, count: int = 1000) -> Steps:
        flat = yield self._eval("leases", (), [offset, count], deadline=True)
        return [Lease(flat[i], flat[i + 1], flat[i + 2], int(flat[i + 3]), flat[i + 4])
                for i in range(0, len(flat), 5)]

    @defer.inlineCallbacks
    def end_lease(self, ip: str) -> Steps:
        return bool((yield self._eval("end_lease", (), [ip], deadline=True)))

    # Bounded reads. A walk over the keys (SCAN) or the leases is made of calls that each look
    # at ADMIN_STEP keys or leases at most, one call at a time: Redis is never held for long,
    # and DHCP lookups go in between.

    @defer.inlineCallbacks
    def scan(self, prefix: str, cursor: str, count: int) -> Steps:
        cursor, keys = yield self._call("scan", cursor, _glob_escape(prefix) + "*", count)
        return str(cursor), list(keys)

    def get_many(self, keys: Iterable[str]) -> "Deferred[dict[str, dict[str, str]]]":
        """One call for the whole page (admin_get_many.lua), not one per key."""
        keys = list(keys)
        if not keys:
            return defer.succeed({})
        return self._eval("admin_get_many", keys, (), deadline=True).addCallback(
            _hashes, keys)

    def size(self) -> "Deferred[int]":
        return self._call("dbsize").addCallback(int)

    def subnet_of(self, ip: str) -> "Deferred[str | None]":
        return self._eval("admin_subnet_of", (), [ip], deadline=True).addCallback(
            lambda key: key[7:] if key else None)

    # holders(): by the `reserved` index and `lease:<ip>` (a few commands: what the API
    # uses, tap.py sets it), or by a walk over every key (exact even for hosts written with
    # plain redis-cli that the index has not yet seen: the CLI, a process of its own)
    trust_reserved_index = False

    @defer.inlineCallbacks
    def holders(self, ip: str) -> Steps:
        if not self.trust_reserved_index:
            return (yield self._find(HOST_PREFIXES, "ip", [ip]))
        reserved, holder = yield defer.gatherResults(
            [self._call("sismember", "reserved", ip), self._call("hget", "lease:" + ip, "mac")],
            consumeErrors=True)
        if int(reserved):  # rare: a conflict, or an index not yet rebuilt; find who
            return (yield self._find(HOST_PREFIXES, "ip", [ip]))
        if holder:
            fields = yield self._call("hmget", "mac:" + holder, ["ip", "dynamic"])
            if fields[0] == ip and fields[1]:
                return [("mac:" + holder, True)]
        return []

    @defer.inlineCallbacks
    def group_users(self, name: str, limit: int) -> Steps:
        found = yield self._find((*HOST_PREFIXES6, SUBNET, SUBNET6), "group",
                                 [name, "group:" + name], limit)
        return sorted(key for key, _ in found)[:limit]

    @defer.inlineCallbacks
    def _find(self, prefixes: Sequence[str], field: str, values: Sequence[str],
              limit: int | None = None) -> Steps:
        """[(key, dynamic)] of the keys with one of `prefixes` whose `field` is one of
        `values`: a walk over every key, ADMIN_STEP keys per call (admin_find.lua)."""
        found: list[tuple[str, bool]] = []
        cursor = "0"
        while True:
            reply = yield self._eval("admin_find", (), [cursor, ADMIN_STEP, field, len(values),
                                                        *values, *prefixes], deadline=True)
            cursor = str(reply[0])
            found += [(reply[i], bool(reply[i + 1])) for i in range(1, len(reply), 2)]
            if cursor == "0" or (limit is not None and len(found) >= limit):
                return sorted(set(found))

    @defer.inlineCallbacks
    def lease_at(self, ip: str) -> Steps:
        mac, state, expires, relay = yield self._call(
            "hmget", "lease:" + ip, ["mac", "state", "expires", "relay"])
        return Lease(ip, mac or "", state or "", int(expires), relay or "") if expires else None

    def lease_count(self) -> "Deferred[int]":
        return self._call("zcard", "leases").addCallback(int)

    def field(self, key: str, name: str) -> "Deferred[str | None]":
        return self._call("hget", key, name)

    @defer.inlineCallbacks
    def hash_scan(self, key: str, cursor: str, count: int) -> Steps:
        cursor, flat = yield self._call("hscan", key, cursor, None, count)
        return str(cursor), pairs(flat)

    def hash_size(self, key: str) -> "Deferred[int]":
        return self._call("hlen", key).addCallback(int)

    @defer.inlineCallbacks
    def pool_tally(self, pools: Sequence[tuple[str, Sequence[tuple[int, int]]]],
                   now: int) -> Steps:
        ranges: list[int] = []
        tallies: list[dict[str, int]] = []
        for index, (_, pool_ranges) in enumerate(pools):
            tallies.append({"bound": 0, "offered": 0, "declined": 0})
            for start, end in pool_ranges:
                ranges += [index, start, end]
        position = 0
        while ranges:
            reply = yield self._eval("admin_tally", (), [now, position, ADMIN_STEP, *ranges],
                                     deadline=True)
            for i in range(1, len(reply), 2):
                index, state = reply[i].split(" ")
                counts = tallies[int(index)]
                counts[state] = counts.get(state, 0) + int(reply[i + 1])
            position += int(reply[0])
            if int(reply[0]) < ADMIN_STEP:
                break
        return tallies

    @defer.inlineCallbacks
    def seed_pool_tally(self, now: int) -> Steps:
        counts = dict.fromkeys(("size", "bound", "offered", "declined"), 0)
        cursor = "0"
        while True:
            reply = yield self._eval("admin_seed_tally", (), [now, cursor, ADMIN_STEP],
                                     deadline=True)
            for name, value in zip(("size", "bound", "offered", "declined"), reply[1:]):
                counts[name] += int(value)
            cursor = str(reply[0])
            if cursor == "0":
                return counts


def _hashes(flat: Sequence[str], keys: Sequence[str]) -> dict[str, dict[str, str]]:
    """admin_get_many.lua's reply as {key: fields} of the keys that exist."""
    found, i = {}, 0
    for key in keys:
        count = int(flat[i])
        if count:
            found[key] = pairs(flat[i + 1:i + 1 + 2 * count])
        i += 1 + 2 * count
    return found


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
