"""IStore6 on Redis: the DHCPv6 packet path's calls as Lua scripts (lua/*6.lua over common.lua
and common6.lua), each atomic, so servers sharing one Redis never give one address or prefix
to two clients. RedisStore (redis.py) inherits Redis6.

Knows how the contract's values travel to the scripts (a pool as its name, delegated length
and bounds in hex; an IA as duid, iaid, kind) and back; the keys are the scripts' business
(docs/redis.md, "DHCPv6"). Knows nothing of packets or of how commands reach Redis.
"""

from collections.abc import Sequence
from typing import Any

from twisted.internet import defer
from twisted.internet.defer import Deferred

from apidhcpd.inventory.allocation6 import MAX_HINTS, Source6
from apidhcpd.store import keys
from apidhcpd.store.contract import Host, Lookup
from apidhcpd.store.contract6 import Conflict6, IAKey, Lease6
from apidhcpd.store.redisadmin import Steps
from apidhcpd.store.redisconn import RedisConnection, pairs


def _lookup6(reply: Sequence[Any], now: int) -> Lookup:
    """lookup6.lua's reply (lookup.lua's shape, the subnet a subnet6: key) as a Lookup."""
    hostkey, fields, group, group_fields, default, subnet, subnet_fields, flat = reply[:8]
    host = None
    if hostkey:
        fields = pairs(fields)
        fields["ts"] = str(now)  # written by the script after it read the hash
        host = Host(hostkey, fields)
    classes = tuple(sorted((flat[i], pairs(flat[i + 1])) for i in range(0, len(flat), 2)))
    return Lookup(host, group, pairs(group_fields), pairs(default),
                  keys.network6(subnet) if subnet else None, pairs(subnet_fields), None,
                  classes)


def _ia(ia: IAKey) -> list[object]:
    return [ia.duid, ia.iaid, ia.kind]


def _source(source: Source6) -> list[object]:
    """A pool as common6.lua's source6_from reads it."""
    if source.prefixes:
        parts = ["%032x/%d" % prefix for prefix in source.prefixes]
        return [source.name, source.delegated, len(parts), *parts]
    parts = ["%032x-%032x" % bounds for bounds in source.ranges]
    return [source.name, 0, len(parts), *parts]


def _offered(reply: Sequence[str] | None, ia: IAKey) -> Lease6 | None:
    return Lease6(ia, reply[0], reply[1], int(reply[2])) if reply else None


def _bound(reply: Sequence[str], ia: IAKey) -> Lease6:
    """{'bound', value, expires} or {'conflict', '1'/'0', reason}."""
    if reply[0] != "bound":
        raise Conflict6(reply[2], taken=reply[1] == "1")
    return Lease6(ia, reply[1], "bound", int(reply[2]))


class Redis6(RedisConnection):
    """The IStore6 half of RedisStore."""

    def lookup6(self, host_keys: Sequence[str], now: int, selector: str) -> "Deferred[Lookup]":
        return self._eval("lookup6", host_keys, [now, selector]).addCallback(_lookup6, now)

    @defer.inlineCallbacks
    def networks6(self) -> Steps:
        """The `subnets6` index and its networks' hashes (for the inventory cache)."""
        networks = sorted((yield self._call("zrange", keys.SUBNETS6, 0, -1)))
        found = yield defer.gatherResults(
            [self._call("hgetall", keys.subnet6(network)) for network in networks],
            consumeErrors=True)
        return {network: fields for network, fields in zip(networks, found) if fields}

    def leases6_of(self, duid: str, now: int) -> "Deferred[list[Lease6]]":
        def leases(flat: Sequence[str]) -> list[Lease6]:
            return [Lease6(IAKey(duid, int(flat[i]), flat[i + 1]), flat[i + 2], flat[i + 3],
                           int(flat[i + 4])) for i in range(0, len(flat), 5)]

        return self._eval("leases6_of", (), [duid, now]).addCallback(leases)

    def offer6(self, ia: IAKey, source: Source6, hints: Sequence[str], now: int,
               hold: int) -> "Deferred[Lease6 | None]":
        hints = list(hints[:MAX_HINTS])
        args = [*_ia(ia), now, hold, len(hints), *hints, *_source(source)]
        return self._eval("offer6", (), args).addCallback(_offered, ia)

    def commit6(self, ia: IAKey, value: str, source: Source6, valid: int, now: int,
                mac: str = "") -> "Deferred[Lease6]":
        args = [*_ia(ia), value, now, valid, mac, *_source(source)]
        return self._eval("commit6", (), args).addCallback(_bound, ia)

    def bind6(self, ia: IAKey, source: Source6, hints: Sequence[str], valid: int, now: int,
              mac: str = "") -> "Deferred[Lease6 | None]":
        hints = list(hints[:MAX_HINTS])
        args = [*_ia(ia), now, valid, mac, len(hints), *hints, *_source(source)]
        return self._eval("bind6", (), args).addCallback(
            lambda result: _bound(result, ia) if result else None)

    def commit6_reserved(self, ia: IAKey, value: str, valid: int,
                         now: int) -> "Deferred[Lease6]":
        return self._eval("commit6_reserved", (), [*_ia(ia), value, now, valid]).addCallback(
            _bound, ia)

    def release6(self, ia: IAKey, value: str, now: int) -> "Deferred[bool]":
        return self._eval("release6", (), [*_ia(ia), value, now]).addCallback(bool)

    def decline6(self, ia: IAKey, value: str, now: int, probation: int) -> "Deferred[bool]":
        return self._eval("decline6", (), [*_ia(ia), value, now, probation]).addCallback(bool)

    def reclaim6(self, now: int, limit: int = 1000) -> "Deferred[int]":
        return self._in_batches("reclaim6", now, limit)

    def server_duid(self, name: str, proposed: str) -> "Deferred[str]":
        return self._eval("server_duid", (), [name, proposed], deadline=True)
