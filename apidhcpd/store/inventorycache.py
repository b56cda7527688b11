"""The inventory in process: hosts, groups, subnets (`subnet:` and `subnet6:`) and classes, so
that a known host costs no round trip to the store, for DHCPv4 (lookup) and DHCPv6 (lookup6).

Knows the lookup rules (store.group_of and group_of6, allocation.SubnetIndex and
allocation6.SubnetIndex6) and when a cached answer may be trusted: only while the store's
change stream is up (put.lua publishes every key the API, the CLI or another server writes; a
break clears everything) and for at most `ttl` seconds (a bound for writes that bypass
put.lua, such as the seed's `redis-cli hset`). Allocation is not
cached: a DHCPv4 client without a reservation still gets its offer or lease from the store,
in one call (allocate()), DHCPv6's calls (offer6, commit6...) all pass through, and a known
host's `ts` is written in batches. Both families share the answers: a set of host keys finds
the same host whichever asks. Knows nothing of Redis or of packets.

Bounded (bounded.py): the answers it keeps, absent hosts included, are capped in entries and
in bytes (their keys' and fields' lengths), the least recently used going first, so a flood
of made-up clients costs real clients at most a store lookup each, never a wrong answer; the
index of keys holds only what those answers hold, and the `ts` batch at most `size` keys.
"""

from collections.abc import Hashable, Sequence
from typing import Any

import attr
from twisted.internet import defer, task
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import alsoProvides, implementer

from apidhcpd.inventory.allocation import SubnetIndex
from apidhcpd.inventory.allocation6 import SubnetIndex6
from apidhcpd.limits.bounded import BoundedMap
from apidhcpd.limits.clock import Clock
from apidhcpd.store import keys
from apidhcpd.store.contract import (
    NO_FIELDS,
    Allocation,
    Host,
    IAdmin,
    Intent,
    IStore,
    Lookup,
    group_of,
    lease_record,
    lease_time_of,
    server_written,
    source_of,
)
from apidhcpd.store.contract6 import IStore6, group_of6

log = Logger()

ENTRY_BYTES = 100  # what an answer costs besides its strings, roughly
KEY_BYTES = 100  # and each of its keys in the index (a set)
MAX_BYTES = 32 << 20


@implementer(IStore, IAdmin)
class InventoryCache:
    """Wraps a store that can watch() its changes; lookups of hosts it has seen are answered
    from memory, the rest pass through and are remembered. It provides IStore6 when the
    store does (and answers lookup6 from memory when the store also has networks6())."""

    def __init__(self, store: Any, clock: Clock, ttl: float = 60.0, size: int = 100_000,
                 touch_interval: float = 1.0, max_bytes: int = MAX_BYTES):
        self._store = store
        self._clock = clock
        self.ttl = ttl
        self._size = size
        # tuple of host keys -> Host or None, until read + ttl
        self._hosts = BoundedMap(size, max_bytes, on_evict=self._unindex)
        self._host_entries = self._hosts.entries  # read directly on the packet path
        self._by_key: dict[str, set[tuple[str, ...]]] = {}  # host key -> the tuples that hold it
        self._groups: dict[str, dict[str, str]] | None = None  # "group:<name>" -> fields
        self._classes: tuple[tuple[str, dict[str, str]], ...] = ()  # (name, fields), by name
        self._subnets = SubnetIndex({})
        self._subnets6 = SubnetIndex6({})
        self._serves6 = callable(getattr(store, "networks6", None))
        self._index_at: float | None = None  # when groups and subnets were read
        self._loading: Deferred[list[dict[str, dict[str, str]]]] | None = None
        self._index_epoch = 0  # bumped by a group or subnet change: a load in flight is stale
        self._host_epoch = 0  # bumped by a host change: a lookup in flight is not remembered
        self.watching = False
        # host key -> when it was answered from memory (its ts to write)
        self._seen: dict[str, int] = {}
        self._toucher = task.LoopingCall(self._touch)
        self._toucher.clock = clock  # type: ignore[assignment]  # an IReactorTime
        self._touch_interval = touch_interval
        # every lookup counts in hits and misses; DHCPv6's lookup6 also in hits6 and misses6
        self.cache_stats = {"hits": 0, "misses": 0, "invalidations": 0, "hits6": 0,
                            "misses6": 0}
        if IStore6.providedBy(store):
            alsoProvides(self, IStore6)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def connect(self) -> None:
        self._store.connect()
        self._store.watch(self._changed, self._watch_state)
        if not self._toucher.running:
            self._toucher.start(self._touch_interval, now=False)

    def disconnect(self) -> Deferred[object]:
        if self._toucher.running:
            self._toucher.stop()
        done: Deferred[object] = self._store.disconnect()
        return done

    # the change stream

    def _watch_state(self, up: bool) -> None:
        self.watching = up
        self._forget()
        if up:
            log.info("inventory cache: watching changes")
            self._load_index()
        else:
            log.info("inventory cache: change stream lost, answering from the store")

    def _forget(self) -> None:
        self._hosts.clear()
        self._by_key.clear()
        self._index_at = self._groups = None
        self._index_epoch += 1
        self._host_epoch += 1

    def _changed(self, key: str) -> None:
        self.cache_stats["invalidations"] += 1
        if key.startswith((keys.GROUP, keys.SUBNET, keys.CLASS, keys.SUBNET6)):
            self._index_at = self._groups = None  # the store answers until it is read again
            self._index_epoch += 1
            self._load_index()
            return
        self._host_epoch += 1
        for held in self._by_key.pop(key, ()):
            self._hosts.pop(held)
            self._unindex(held)

    def _load_index(self) -> None:
        if self._loading is not None:
            return
        epoch = self._index_epoch
        reads: list[Deferred[dict[str, dict[str, str]]]] = [
            self._store.hashes(keys.GROUP), self._store.hashes(keys.SUBNET),
            self._store.hashes(keys.CLASS),
            self._store.networks6() if self._serves6 else defer.succeed({})]
        loading = defer.gatherResults(reads, consumeErrors=True)
        self._loading = loading  # before the callbacks: with a synchronous store they run now

        def loaded(result: list[dict[str, dict[str, str]]]) -> None:
            self._loading = None
            if epoch != self._index_epoch or not self.watching:
                if self.watching:
                    self._load_index()
                return
            groups, subnets, classes, networks6 = result
            self._groups = groups
            self._classes = tuple(sorted((key[len(keys.CLASS):], fields)
                                         for key, fields in classes.items() if fields))
            self._subnets = SubnetIndex({keys.network(key): fields
                                         for key, fields in subnets.items()})
            self._subnets6 = SubnetIndex6(networks6)
            self._index_at = self._clock.seconds()

        def failed(failure: Failure) -> None:
            self._loading = None
            log.info("inventory cache: could not read groups, subnets and classes: {error}",
                     error=failure.getErrorMessage())

        loading.addCallbacks(loaded, failed)

    def _ready(self) -> bool:
        if not self.watching:
            return False
        if self._index_at is None or self._clock.seconds() - self._index_at >= self.ttl:
            self._load_index()  # a stale index keeps answering until the new one is read
        return self._groups is not None

    # IStore

    def lookup(self, host_keys: Sequence[str], now: int, selector: str,
               intent: Intent | None = None, subnet: str | None = None) -> Deferred[Lookup]:
        if not self._ready():
            return self._miss(host_keys, now, selector, intent, None)
        subnet = self._subnets.match(selector)
        wanted = tuple(host_keys)
        entries = self._host_entries
        entry = entries.get(wanted)
        if entry is None or entry[2] <= self._clock.seconds():
            return self._miss(wanted, now, selector, intent, subnet)
        entries.move_to_end(wanted)  # least recently used goes first
        self.cache_stats["hits"] += 1
        host: Host | None = entry[0]
        if host is not None and (len(self._seen) < self._size or host.key in self._seen):
            self._seen[host.key] = now
        subnet_fields = self._subnets.fields.get(subnet, NO_FIELDS) if subnet else NO_FIELDS
        groups = self._groups
        assert groups is not None  # _ready()
        name = group_of(host, subnet_fields, lambda name: keys.group(name) in groups)
        found = Lookup(host, name, groups.get(keys.group(name), NO_FIELDS),
                       groups.get(keys.DEFAULT_GROUP, NO_FIELDS), subnet or None, subnet_fields,
                       classes=self._classes)
        if intent is None or (host is not None and host.reserved_ip):
            return defer.succeed(found)
        def done(allocation: Allocation) -> Lookup:
            return attr.evolve(found, allocation=allocation)

        allocated: Deferred[Allocation] = self._store.allocate(
            intent, source_of(found, intent.facts), lease_time_of(found, intent.facts),
            now)
        return allocated.addCallback(done)

    def _miss(self, host_keys: Sequence[str], now: int, selector: str, intent: Intent | None,
              subnet: str | None) -> Deferred[Lookup]:
        """The store's lookup. Told the subnet (`subnet` not None), it leaves out the group
        and subnet fields, which are filled in from the groups and subnets known now."""
        self.cache_stats["misses"] += 1
        epoch, read_at = self._host_epoch, self._clock.seconds()
        call: Deferred[Lookup] = self._store.lookup(list(host_keys), now, selector, intent,
                                                    subnet=subnet)
        if subnet is not None:
            call.addCallback(self._fill, self._groups or {}, self._subnets, self._classes)
        return call.addCallback(self._remember, tuple(host_keys), epoch, read_at)

    @staticmethod
    def _fill(found: Lookup, groups: dict[str, dict[str, str]], subnets: SubnetIndex,
              classes: tuple[tuple[str, dict[str, str]], ...]) -> Lookup:
        return attr.evolve(found, group_fields=groups.get(keys.group(found.group_name),
                                                          NO_FIELDS),
                           default_fields=groups.get(keys.DEFAULT_GROUP, NO_FIELDS),
                           subnet_fields=subnets.fields.get(found.subnet or "", NO_FIELDS),
                           classes=classes)

    # IStore6: the lookup (the rest passes through, __getattr__)

    def lookup6(self, host_keys: Sequence[str], now: int, selector: str) -> Deferred[Lookup]:
        """lookup6 as the store answers it (first_host, group_of6, the longest `subnet6:` of
        the `subnets6` index), from memory when the host keys are known."""
        wanted = tuple(host_keys)
        entry = self._host_entries.get(wanted) if self._serves6 and self._ready() else None
        if entry is None or entry[2] <= self._clock.seconds():
            self.cache_stats["misses"] += 1
            self.cache_stats["misses6"] += 1
            epoch, read_at = self._host_epoch, self._clock.seconds()
            call: Deferred[Lookup] = self._store.lookup6(list(host_keys), now, selector)
            return call.addCallback(self._remember, wanted, epoch, read_at)
        self._host_entries.move_to_end(wanted)  # least recently used goes first
        self.cache_stats["hits"] += 1
        self.cache_stats["hits6"] += 1
        host: Host | None = entry[0]
        if host is not None and (len(self._seen) < self._size or host.key in self._seen):
            self._seen[host.key] = now
        subnet = self._subnets6.match(selector)
        subnet_fields = self._subnets6.fields.get(subnet, NO_FIELDS) if subnet else NO_FIELDS
        groups = self._groups
        assert groups is not None  # _ready()
        name = group_of6(host, subnet_fields, lambda name: keys.group(name) in groups)
        return defer.succeed(Lookup(host, name, groups.get(keys.group(name), NO_FIELDS),
                                    groups.get(keys.DEFAULT_GROUP, NO_FIELDS), subnet or None,
                                    subnet_fields, classes=self._classes))

    def _remember(self, found: Lookup, host_keys: tuple[str, ...], epoch: int,
                  read_at: float) -> Lookup:
        if epoch != self._host_epoch or not self.watching:
            return found  # a host changed while this was read: it may predate the change
        host = found.host
        if host is not None and lease_record(host.fields):
            if not server_written(host.fields):
                return found  # a lease record an operator added to: read it every time
            host = None  # a lease record answers like no host at all
        size = ENTRY_BYTES + sum(map(len, host_keys)) + KEY_BYTES * len(host_keys)
        if host is not None:
            size += sum(len(k) + len(v) for k, v in host.fields.items())
        if self._hosts.put(host_keys, host, size, read_at + self.ttl, self._clock.seconds()):
            for key in host_keys:
                self._by_key.setdefault(key, set()).add(host_keys)
        return found

    def _unindex(self, host_keys: Hashable, host: Host | None = None) -> None:
        """An answer is gone: its keys no longer lead to it."""
        assert isinstance(host_keys, tuple)
        for key in host_keys:
            holders = self._by_key.get(key)
            if holders is not None:
                holders.discard(host_keys)
                if not holders:
                    del self._by_key[key]

    def _touch(self) -> Deferred[object] | None:
        if not self._seen:
            return None
        seen, self._seen = self._seen, {}
        now = max(seen.values())
        names = sorted(seen)
        calls: list[Deferred[object]] = [self._store.touch(names[i:i + 500], now)
                                         for i in range(0, len(names), 500)]

        def failed(failure: Failure) -> None:
            log.debug("inventory cache: ts not written: {error}",
                      error=failure.getErrorMessage())

        return defer.gatherResults(calls, consumeErrors=True).addErrback(failed)
