"""IStore on Redis: the packet path's calls (lookup, offer, commit, ...) and the `reserved`
index, as Lua scripts (lua/) on one Redis, so servers sharing it never hand out an address twice.

RedisStore is the one object tap.py, the API and the CLI use: the IStore calls are here, the
IStore6 (DHCPv6) calls come from redis6.py, the IAdmin calls from redisadmin.py and the IAdmin6
ones from redisadmin6.py, the connection from redisconn.py (every call gets a deadline; while
no connection is up, calls fail at once with StoreUnavailable). Knows the key schema
(docs/redis.md); knows nothing of how commands reach Redis.
"""

import uuid
from collections.abc import Callable, Sequence
from typing import Any

import txredisapi
from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from zope.interface import implementer

from apidhcpd.store import keys
from apidhcpd.store.contract import (
    AddressSource,
    Allocation,
    Bound,
    CommitIntent,
    Conflict,
    Facts,
    Holds,
    Host,
    IAdmin,
    ICacheable,
    Intent,
    IStore,
    Lease,
    Lookup,
    Offered,
    OfferIntent,
    Refused,
)
from apidhcpd.store.contract6 import IAdmin6, ICacheable6, IStore6
from apidhcpd.store.keys import HOST_PREFIXES
from apidhcpd.store.redis6 import Redis6
from apidhcpd.store.redisadmin import RedisAdmin, Steps
from apidhcpd.store.redisadmin6 import RedisAdmin6
from apidhcpd.store.redisconn import pairs
from apidhcpd.store.redisurl import RedisURL

__all__ = ["RedisStore", "RedisURL"]

REBUILD_LOCK = "reserved:rebuild"  # held by the one server rebuilding the `reserved` index


def _lookup(reply: Sequence[Any], now: int,
            allocated: Callable[[Any], Allocation] | None = None) -> Lookup:
    hostkey, fields, group, group_fields, default, subnet, subnet_fields, flat = reply[:8]
    host = None
    if hostkey:
        fields = pairs(fields)
        fields["ts"] = str(now)  # written by the script after it read the hash
        host = Host(hostkey, fields)
    allocation: Allocation | None = None
    if allocated is not None and not (host and host.reserved_ip):
        allocation = allocated(reply[8] if len(reply) > 8 else None)
    classes = tuple(sorted((flat[i], pairs(flat[i + 1])) for i in range(0, len(flat), 2)))
    return Lookup(host, group, pairs(group_fields), pairs(default),
                  keys.network(subnet) if subnet else None, pairs(subnet_fields), allocation,
                  classes)


def _offered(ip: str | None) -> Offered:
    return Offered(ip or None)


def _committed(result: Sequence[str], intent: CommitIntent) -> Bound | Holds | Refused:
    """bind.lua's or request.lua's {'bound', ip, expires}, {'holds', ip} or
    {'conflict', '1' if taken else '0', reason}."""
    tag = result[0]
    if tag == "bound":
        return Bound(Lease(result[1], intent.mac, "bound", int(result[2]), intent.relay.hex()))
    if tag == "holds":
        return Holds(result[1])
    return Refused(Conflict(result[2], taken=result[1] == "1"))


def _facts_args(facts: Facts) -> list[str | bytes]:
    """A client's class facts as common.lua's class_facts reads them from ARGV: the texts as
    the bytes the client sent (inventory/classes.text)."""
    def given(value: str | None) -> str | bytes:
        return "-" if value is None else b"+" + value.encode("utf-8", "surrogateescape")

    return [given(facts.vendor_class), given(facts.client_id), facts.mac,
            given(facts.circuit_id), given(facts.remote_id),
            ",".join(map(str, facts.arches)),
            *(item.encode("utf-8", "surrogateescape") for item in facts.user_classes)]


def _source_args(source: AddressSource) -> list[str]:
    return ["1" if source.seed_pool else "0", source.name] + [
        "%d-%d" % r for r in source.ranges]


@implementer(IStore, IStore6, ICacheable, ICacheable6, IAdmin, IAdmin6)
class RedisStore(RedisAdmin, RedisAdmin6, Redis6):
    """IStore, IStore6 (redis6.py), IAdmin and IAdmin6 (redisadmin6.py) on one Redis server
    (or Sentinel's master), through a lazy txredisapi connection pool (RedisConnection)."""

    # IStore

    def lookup(self, host_keys: Sequence[str], now: int, selector: str,
               intent: Intent | None = None, subnet: str | None = None) -> Deferred[Lookup]:
        if subnet is not None:  # the caller knows the subnet: the script need not search
            selector = keys.subnet(subnet) if subnet else "-"
        if intent is None:
            return self._eval("lookup", host_keys, [now, selector]).addCallback(_lookup, now)
        if isinstance(intent, OfferIntent):
            args = [now, selector, intent.mac, intent.hold, intent.requested,
                    *_facts_args(intent.facts)]
            return self._eval("discover", host_keys, args).addCallback(_lookup, now, _offered)
        args = [now, selector, intent.mac, intent.address, intent.state, intent.relay.hex(),
                intent.client, *_facts_args(intent.facts)]
        return self._eval("request", host_keys, args).addCallback(
            _lookup, now, lambda result: _committed(result, intent))

    def allocate(self, intent: Intent, source: AddressSource, lease_time: int,
                 now: int) -> Deferred[Allocation]:
        if isinstance(intent, OfferIntent):
            return self._eval("offer", (), [intent.mac, now, intent.hold, intent.requested]
                              + _source_args(source)).addCallback(_offered)
        args = [intent.mac, intent.address, now, lease_time, intent.relay.hex(), intent.state,
                intent.client]
        return self._eval("bind", (), args + _source_args(source)).addCallback(
            _committed, intent)

    def lease_of(self, mac: str, now: int) -> Deferred[Lease | None]:
        return self._eval("lease", (), [mac, now]).addCallback(
            lambda found: Lease(found[0], mac, found[1], int(found[2])) if found else None)

    def offer(self, mac: str, source: AddressSource, requested: str | None, now: int,
              hold: int) -> Deferred[str | None]:
        return self._eval("offer", (), [mac, now, hold, requested or ""] + _source_args(source))

    def commit(self, mac: str, ip: str, source: AddressSource, lease_time: int, now: int,
               relay: bytes = b"", state: str = "", client: str = "") -> Deferred[Lease]:
        def conflict(failure: Failure) -> Failure:
            message = str(failure.value)
            if not (isinstance(failure.value, txredisapi.ResponseError)
                    and message.startswith("CONFLICT")):
                return failure
            raise Conflict(message[9:], taken=message.endswith("is taken"))

        return self._eval("commit", (), [mac, ip, now, lease_time, relay.hex(), state, client]
                          + _source_args(source)).addCallbacks(
            lambda bound: Lease(bound[0], mac, "bound", int(bound[1]), relay.hex()), conflict)

    def release(self, mac: str, ip: str, now: int) -> Deferred[bool]:
        return self._eval("release", (), [mac, ip]).addCallback(bool)

    def release_offer(self, mac: str, keep: str = "") -> Deferred[Any]:
        return self._eval("release_offer", (), [mac, keep])

    def decline(self, mac: str, ip: str, now: int, probation: int) -> Deferred[bool]:
        return self._eval("decline", (), [mac, ip, now, probation]).addCallback(bool)

    def lease_holder(self, ip: str, now: int) -> Deferred[str | None]:
        def holder(found: Sequence[str | None]) -> str | None:
            mac, expires = found
            return mac if mac and int(expires or 0) > now else None
        return self._call("hmget", keys.lease(ip), ["mac", "expires"],
                          deadline=False).addCallback(holder)

    def reclaim(self, now: int, limit: int = 1000) -> "Deferred[int]":
        return self._in_batches("reclaim", now, limit)

    @defer.inlineCallbacks
    def refresh_reserved(self) -> Steps:
        """Rebuild the indexes of reserved values from the host hashes: `reserved` (their
        `ip`) and `reserved6` (their `ip6` and `prefix6`), in steps that each block Redis
        for a page of keys: add what the pages show (reserve_batch.lua), then drop what no
        host reserves any more unless it was reserved anew meanwhile (reserve_prune.lua).
        One run at a time across all servers (a lock key); writes during the run are kept.
        Then the `classes` and `subnets6` indexes take in keys written by hand.
        The number of reserved IPv4 addresses, or None if another server's run holds the lock."""
        token = uuid.uuid4().hex
        if not (yield self._call("set", REBUILD_LOCK, token, expire=3600, only_if_not_exists=True)):
            return None
        run, run6 = "%s:%s" % (REBUILD_LOCK, token), "%s6:%s" % (REBUILD_LOCK, token)
        started = int((yield self._call("get", "reserved:version")) or 0)
        started6 = int((yield self._call("get", "reserved6:version")) or 0)
        for prefix in (*HOST_PREFIXES, keys.DUID):
            ip_counts = "0" if prefix == keys.DUID else "1"
            cursor = "0"
            while True:
                cursor, found = yield self._call("scan", cursor, prefix + "*", 500)
                if found:
                    yield self._eval("reserve_batch", found, [run, run6, ip_counts],
                                     deadline=True)
                if str(cursor) == "0":
                    break
        for index, seen, since in ((keys.RESERVED, run, started),
                                   (keys.RESERVED6, run6, started6)):
            cursor = "0"
            while True:
                cursor, members = yield self._call("sscan", index, cursor, count=500)
                if members:
                    yield self._eval("reserve_prune", (), [index, seen, since, *members],
                                     deadline=True)
                if str(cursor) == "0":
                    break
        reserved = int((yield self._eval("reserve_done", (), [run, started, token, run6,
                                                              started6], deadline=True)))
        yield self._index_classes()
        yield self._index_subnets6()
        return reserved

    @defer.inlineCallbacks
    def _index_subnets6(self) -> Steps:
        """Add to `subnets6` every subnet6: hash written in RFC 5952 form, also those written
        without put.lua, so that lookup6 sees them from the next refresh on."""
        cursor = "0"
        while True:
            cursor, found = yield self._call("scan", cursor, keys.SUBNET6 + "*", 500)
            if found:
                yield self._eval("subnets6_batch", found, (), deadline=True)
            if str(cursor) == "0":
                break

    @defer.inlineCallbacks
    def _index_classes(self) -> Steps:
        """Add to the `classes` index every class: hash, also those written without put.lua
        (a plain `redis-cli HSET class:...`), so that lookups see them from the next refresh
        on. A name whose hash is gone costs lookups nothing (lookup.lua skips it) and is left."""
        cursor, names = "0", set[str]()
        while True:
            cursor, found = yield self._call("scan", cursor, keys.CLASS + "*", 500)
            names.update(key[len(keys.CLASS):] for key in found)
            if str(cursor) == "0":
                break
        if names:
            yield self._call("sadd", keys.CLASSES, sorted(names))

    def ping(self) -> Deferred[Any]:
        return self._call("ping")

    def touch(self, host_keys: Sequence[str], now: int) -> Deferred[Any]:
        return self._eval("touch", (), [now, *host_keys], deadline=True)
