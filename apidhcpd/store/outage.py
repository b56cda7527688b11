"""Riding out a store outage: the last answer for each client, kept in process.

Knows which answers are safe to repeat while the store cannot be reached: a reserved host's
lookup, and a dynamic client's unexpired lease (renewed for its remaining time only, so that
no client holds an address longer than the store has it recorded). New dynamic allocations
stop: no answer is better than a wrong one. Knows nothing of Redis or of packets.

Bounded (bounded.py): one answer per MAC, kept only where it can serve in an outage (a
reserved host, for `answer_ttl`; a client holding a lease, until the lease ends), the least
recently seen going first when the entry or byte caps are reached; a RELEASE or DECLINE ends
what was kept of the client's lease. A flood of made-up clients that hold no lease and match
no reservation leaves nothing here.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import attr
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import alsoProvides, implementer

from apidhcpd.limits.bounded import BoundedMap
from apidhcpd.limits.clock import Clock
from apidhcpd.limits.timeouts import race
from apidhcpd.store import keys
from apidhcpd.store.contract import (
    NO_FIELDS,
    Bound,
    Host,
    IAdmin,
    Intent,
    IStore,
    Lease,
    Lookup,
    Offered,
    OfferIntent,
    StoreUnavailable,
)
from apidhcpd.store.contract6 import IStore6
from apidhcpd.store.outage6 import Outage6

log = Logger()

ENTRY_BYTES = 200  # what an answer costs besides its strings, roughly
LEASE_BYTES = 100  # and a lease
MAX_BYTES = 32 << 20  # of answers; leases get half
ANSWER_TTL = 86400  # how long a reserved host's answer is kept after it was last given
FIELD_SETS = 4096  # groups, subnets and group:default, the last fields seen of each
CLASSES = keys.CLASS  # the classes' entry among them (no group or subnet is named so)
Classes = tuple[tuple[str, dict[str, str]], ...]
# what is kept of a lookup: (host keys, Host, group name, subnet, the group's, group:default's
# and the subnet's fields (one copy of each, in _fields), reserved or not, classes)
Answer = tuple[tuple[str, ...], Host | None, str, str | None, dict[str, str], dict[str, str],
               dict[str, str], bool, Classes]


def fields_size(fields: Mapping[str, str]) -> int:
    """The approximate bytes of a hash: its field names and values."""
    return sum(len(k) + len(v) for k, v in fields.items())


@implementer(IStore, IAdmin)
class OutageCache(Outage6):
    """Wraps a store; lookups that fail with StoreUnavailable are answered from the last good
    ones where that is safe. Everything else passes through to the wrapped store. It
    provides IStore6 when the store does (outage6.py: the DHCPv6 calls)."""

    def __init__(self, store: Any, clock: Clock, timeout: float = 1.0, size: int = 100_000,
                 max_bytes: int = MAX_BYTES, answer_ttl: int = ANSWER_TTL):
        self._store = store
        self._clock = clock
        self._timeout = timeout  # a store that stops answering counts as unreachable
        self.answer_ttl = answer_ttl
        self._answers = BoundedMap(size, max_bytes)  # "mac:<mac>" -> Answer
        self._leases = BoundedMap(size, max_bytes // 2)  # mac -> Lease, the last bound one
        # group name, subnet ("198.51.100.0/24") or "" (group:default) -> its last fields
        self._fields = BoundedMap(FIELD_SETS, max_bytes // 4)
        self.served = 0  # answers given from the cache during outages
        self._init6(size, max_bytes)
        if IStore6.providedBy(store):
            alsoProvides(self, IStore6)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def lookup(self, host_keys: Sequence[str], now: int, selector: str,
               intent: Intent | None = None) -> Deferred[Lookup]:
        key = tuple(host_keys)  # a client's renewal (placed by ciaddr) finds its first answer
        asked: Deferred[Lookup] = self._store.lookup(host_keys, now, selector, intent)
        call: Deferred[Lookup] = race(asked, self._timeout, self._clock, lambda: StoreUnavailable(
            "no answer within %.1fs" % self._timeout))
        return call.addCallbacks(
            self._remember, self._fallback, callbackArgs=(key, now, intent),
            errbackArgs=(key, now, intent))

    def release(self, mac: str, ip: str, now: int) -> Deferred[bool]:
        self._forget_lease(mac, ip)
        released: Deferred[bool] = self._store.release(mac, ip, now)
        return released

    def decline(self, mac: str, ip: str, now: int, probation: int) -> Deferred[bool]:
        self._forget_lease(mac, ip)
        declined: Deferred[bool] = self._store.decline(mac, ip, now, probation)
        return declined

    def _forget_lease(self, mac: str, ip: str) -> None:
        lease = self._leases.get(mac)
        if lease is not None and lease.ip == ip:
            self._leases.pop(mac)
            self._answers.pop(keys.mac(mac))

    def _remember(self, found: Lookup, key: tuple[str, ...], now: int,
                  intent: Intent | None) -> Lookup:
        mac = keys.mac(intent.mac) if intent is not None else _mac_key(key)
        answers = self._answers.entries
        old = answers.get(mac)
        if old is not None and old[0][7] and unchanged(old[0], found, key):
            old[2] = now + self.answer_ttl  # a reserved host's answer, again
            answers.move_to_end(mac)  # the least recently seen go first
            return found
        return self._keep_answer(found, key, mac, now, intent)

    def _keep_answer(self, found: Lookup, key: tuple[str, ...], mac: str, now: int,
                     intent: Intent | None) -> Lookup:
        allocation, host = found.allocation, found.host
        lease: Lease | None = None
        if isinstance(allocation, Bound):
            lease = allocation.lease
            self._leases.put(lease.mac, lease, LEASE_BYTES + len(lease.relay), lease.expires,
                             now)
        reserved = host is not None and bool(host.reserved_ip)
        if reserved:
            expires = now + self.answer_ttl
        else:
            if lease is None and intent is not None:
                lease = self._leases.get(intent.mac, now)
                if lease is None:
                    return found  # nothing that could be answered in an outage
                self._leases.touch(intent.mac)  # seen: the least recently seen go first
            if lease is None:
                return found
            expires = lease.expires
        value, size = self._kept(found, key, reserved)
        self._answers.put(mac, value, size, expires, now)
        return found

    def _kept(self, found: Lookup, key: tuple[str, ...],
              reserved: bool) -> tuple[Answer, int]:
        """What is kept of a lookup (an Answer) and its size in bytes: the host and the one
        copy of each of its hashes."""
        host = found.host
        value = (key, host, found.group_name, found.subnet,
                 self._shared(found.group_name, found.group_fields),
                 self._shared("", found.default_fields),
                 self._shared(found.subnet, found.subnet_fields) if found.subnet else NO_FIELDS,
                 reserved, self._shared_classes(found.classes))
        return value, ENTRY_BYTES + sum(map(len, key)) + (fields_size(host.fields) if host
                                                          else 0)

    def _shared(self, name: str, fields: dict[str, str]) -> dict[str, str]:
        """The one copy kept of a group's, group:default's or a subnet's fields, which every
        answer refers to: a store that reads them afresh for each lookup (no inventory cache)
        must not leave a copy in each answer."""
        kept = self._fields.entries.get(name)
        if kept is not None and (kept[0] is fields or kept[0] == fields):
            shared: dict[str, str] = kept[0]
            return shared
        self._fields.put(name, fields, ENTRY_BYTES + fields_size(fields))
        return fields

    def _shared_classes(self, classes: Classes) -> Classes:
        """The one copy kept of the classes (the inventory cache hands out one tuple)."""
        if not classes:
            return classes
        kept = self._fields.entries.get(CLASSES)
        if kept is not None and (kept[0] is classes or kept[0] == classes):
            shared: Classes = kept[0]
            return shared
        self._fields.put(CLASSES, classes, ENTRY_BYTES + sum(
            len(name) + fields_size(fields) for name, fields in classes))
        return classes

    def _fallback(self, failure: Failure, key: tuple[str, ...], now: int,
                  intent: Intent | None) -> Lookup | Failure:
        if not isinstance(failure.value, StoreUnavailable):
            return failure
        entry = self._answers.get(keys.mac(intent.mac) if intent is not None else _mac_key(key),
                                  now)
        if entry is None or entry[0] != key:
            return failure
        _, host, name, subnet, group, default, subnet_fields, _, classes = entry
        found = Lookup(host, name, group, default, subnet, subnet_fields, classes=classes)
        if host and host.reserved_ip:
            return self._serve(found)
        lease: Lease | None = self._leases.get(intent.mac, now) if intent else None
        if intent is None or lease is None or lease.expires <= now:
            return failure  # a new allocation: wait for the store
        if isinstance(intent, OfferIntent):
            return self._serve(attr.evolve(found, allocation=Offered(lease.ip)))
        if intent.address != lease.ip:
            return failure
        return self._serve(attr.evolve(found, allocation=Bound(
            Lease(lease.ip, lease.mac, "bound", lease.expires, lease.relay))))

    def _serve(self, found: Lookup, client: str = "?") -> Lookup:
        """Count and log an answer from the cache (for the host, else the `client` key)."""
        self.served += 1
        log.info("store unreachable: answering {key} from the cache",
                 key=found.host.key if found.host else client)
        return found


def unchanged(value: Answer, found: Lookup, key: tuple[str, ...]) -> bool:
    """Is a kept answer the same as a new lookup's: the inventory cache's own Host and
    hashes, again, found by the same keys?"""
    return found.host is not None and value[1] is found.host \
        and value[4] is found.group_fields and value[5] is found.default_fields \
        and value[6] is found.subnet_fields and value[8] is found.classes and value[0] == key


def _mac_key(host_keys: tuple[str, ...]) -> str:
    """The `mac:` key among a lookup's keys (handlers.host_keys always gives one)."""
    for key in host_keys:
        if key.startswith(keys.MAC):
            return key
    return host_keys[0] if host_keys else ""
