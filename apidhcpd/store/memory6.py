"""Memory6: the IStore6 contract (DHCPv6) in process memory, the mixin MemoryStore inherits;
the reference the Redis scripts (lua/*6.lua) must match: the same order of choices (the IA's
value, a hint, the free list oldest first, then a cursor of at most PROBES positions), so that
tests/test_store6.py can run one set of tests on both.

Knows allocation6's rules and the lease records' meaning; reads the inventory from the
MemoryStore's `data` (its hosts, groups, classes and subnet6: keys, the latter through the
`subnets6` index put() and refresh_reserved() keep). Knows nothing of packets or Redis.
"""

from collections.abc import Mapping, Sequence

import attr
from twisted.internet import defer
from twisted.internet.defer import Deferred

from apidhcpd.inventory import allocation6
from apidhcpd.inventory.allocation6 import FREE_TRIES, MAX_HINTS, PD, PROBES, Source6
from apidhcpd.store import keys
from apidhcpd.store.contract import Host, Lookup, first_host
from apidhcpd.store.contract6 import Conflict6, IAKey, Lease6, group_of6


@attr.s(frozen=True, slots=True)
class Record6:
    """A `lease6:<value>` hash: its IA (None for a declined value), state, end, pool."""

    ia: IAKey | None = attr.ib()
    state: str = attr.ib()
    expires: int = attr.ib()
    pool: str = attr.ib(default="")
    mac: str = attr.ib(default="")


class Memory6:
    """IStore6 in memory; MemoryStore provides `data` (key -> fields)."""

    data: dict[str, dict[str, str]]

    def __init__(self) -> None:
        self.leases6: dict[str, Record6] = {}
        self.ias6: dict[str, dict[tuple[str, int], str]] = {}  # duid -> (kind, iaid) -> value
        self.free6: dict[str, dict[str, int]] = {}  # pool -> value -> when given back
        self.cursors6: dict[str, tuple[object, int]] = {}  # pool -> (its shape, next position)
        self.reserved6: set[str] = set()
        self.subnets6: set[str] = set()
        self.server_duids: dict[str, str] = {}

    # the indexes (put() and refresh_reserved() call these)

    def _put6(self, key: str, before: Mapping[str, str], after: Mapping[str, str]) -> None:
        if key.startswith(keys.HOST_PREFIXES6):
            now = allocation6.reservations6(after)
            self.reserved6.difference_update(
                set(allocation6.reservations6(before)) - set(now))
            self.reserved6.update(now)
        if key.startswith(keys.SUBNET6):
            network = keys.network6(key)
            if after and allocation6.network6(network):
                self.subnets6.add(network)
            else:
                self.subnets6.discard(network)

    def _refresh6(self) -> None:
        self.reserved6 = {value for key, fields in self.data.items()
                          if key.startswith(keys.HOST_PREFIXES6)
                          for value in allocation6.reservations6(fields)}
        self.subnets6.update(keys.network6(key) for key, fields in self.data.items()
                             if key.startswith(keys.SUBNET6) and fields
                             and allocation6.network6(keys.network6(key)))

    # IStore6

    def lookup6(self, host_keys: Sequence[str], now: int, selector: str) -> Deferred[Lookup]:
        host = first_host(host_keys, self.data)
        if host:
            self.data[host.key]["ts"] = str(now)
            host = Host(host.key, dict(self.data[host.key]))
            self.reserved6.update(allocation6.reservations6(host.fields))
        live = [n for n in self.subnets6 if self.data.get(keys.subnet6(n))]
        subnet = allocation6.longest_match6(selector, live)
        subnet_fields = dict(self.data[keys.subnet6(subnet)]) if subnet else {}
        group = group_of6(host, subnet_fields, self._group_exists)
        return defer.succeed(Lookup(
            host, group, dict(self.data.get(keys.group(group), {})),
            dict(self.data.get(keys.DEFAULT_GROUP, {})), subnet, subnet_fields,
            classes=tuple(sorted((k[len(keys.CLASS):], dict(v)) for k, v in self.data.items()
                                 if k.startswith(keys.CLASS) and v))))

    def _group_exists(self, name: str) -> bool:
        return bool(self.data.get(keys.group(name)))

    def networks6(self) -> Deferred[dict[str, dict[str, str]]]:
        return defer.succeed({network: dict(self.data[keys.subnet6(network)])
                              for network in self.subnets6
                              if self.data.get(keys.subnet6(network))})

    def leases6_of(self, duid: str, now: int) -> Deferred[list[Lease6]]:
        found = []
        for (kind, iaid), value in self.ias6.get(duid, {}).items():
            record = self.leases6.get(value)
            ia = IAKey(duid, iaid, kind)
            if record and record.ia == ia and record.expires > now \
                    and record.state in ("offered", "bound"):
                found.append(Lease6(ia, value, record.state, record.expires))
        return defer.succeed(found)

    def _available6(self, value: str, ia: IAKey, now: int, reserved_ok: bool = False) -> bool:
        if not reserved_ok and value in self.reserved6:
            return False
        record = self.leases6.get(value)
        return record is None or record.expires <= now or record.ia == ia

    def _end6(self, value: str, now: int) -> None:
        """The lease on value ends: its IA lets go, the value goes back to its pool."""
        record = self.leases6.pop(value)
        if record.ia is not None:
            held = self.ias6.get(record.ia.duid, {})
            if held.get((record.ia.kind, record.ia.iaid)) == value:
                del held[(record.ia.kind, record.ia.iaid)]
        if record.pool:
            self.free6.setdefault(record.pool, {})[value] = now

    def _record6(self, value: str, ia: IAKey, state: str, expires: int, pool: str,
                mac: str = "") -> None:
        old = self.leases6.get(value)
        if old is not None and old.ia is not None and old.ia != ia:
            held = self.ias6.get(old.ia.duid, {})
            if held.get((old.ia.kind, old.ia.iaid)) == value:
                del held[(old.ia.kind, old.ia.iaid)]
        self.leases6[value] = Record6(ia, state, expires, pool, mac)
        self.free6.get(pool, {}).pop(value, None)
        self.ias6.setdefault(ia.duid, {})[(ia.kind, ia.iaid)] = value

    def _from_free6(self, source: Source6, ia: IAKey, now: int) -> str | None:
        free = self.free6.get(source.name, {})
        for _ in range(FREE_TRIES):
            if not free:
                return None
            value = min(free, key=lambda v: (free[v], v))  # Redis's ZPOPMIN order
            del free[value]
            if allocation6.in_source(value, source) and self._available6(value, ia, now):
                return value
        return None

    def _from_cursor6(self, source: Source6, ia: IAKey, now: int) -> str | None:
        total = sum(allocation6.sizes(source))
        if not total:
            return None
        shape = (source.ranges, source.prefixes, source.delegated)
        known, position = self.cursors6.get(source.name, (None, 0))
        position = position if known == shape and position < total else 0
        choice = None
        for _ in range(min(PROBES, total)):
            value = allocation6.value_at(source, position)
            position = (position + 1) % total
            if self._available6(value, ia, now):
                choice = value
                break
        self.cursors6[source.name] = (shape, position)
        return choice

    def offer6(self, ia: IAKey, source: Source6, hints: Sequence[str], now: int,
               hold: int) -> Deferred[Lease6 | None]:
        def usable(value: str | None) -> bool:
            return value is not None and allocation6.in_source(value, source) \
                and self._available6(value, ia, now)

        current = self.ias6.get(ia.duid, {}).get((ia.kind, ia.iaid))
        choice = current if usable(current) else None
        for hint in hints[:MAX_HINTS]:
            value = allocation6.canonical(hint)
            if choice is None and usable(value):
                choice = value
        choice = choice or self._from_free6(source, ia, now) or self._from_cursor6(
            source, ia, now)
        if choice is None:
            return defer.succeed(None)
        record = self.leases6.get(choice)
        if record and record.ia == ia and record.state == "bound" and record.expires > now:
            return defer.succeed(Lease6(ia, choice, "bound", record.expires))
        old = self.leases6.get(current) if current and current != choice else None
        if current and old and old.ia == ia and old.state == "offered":
            self._end6(current, now)
        self._record6(choice, ia, "offered", now + hold, source.name)
        return defer.succeed(Lease6(ia, choice, "offered", now + hold))

    def _commit6(self, ia: IAKey, text: str, source: Source6 | None, valid: int, now: int,
                mac: str) -> Deferred[Lease6]:
        value = allocation6.canonical(text)
        if value is None or ("/" in value) != (ia.kind == PD):
            return defer.fail(Conflict6("%s is no %s value" % (text, ia.kind), False))
        if source is not None and not allocation6.in_source(value, source):
            return defer.fail(Conflict6("%s is not in the pool of %s" % (value, source.name),
                                        False))
        if not self._available6(value, ia, now, reserved_ok=source is None):
            taken = source is None or value not in self.reserved6
            return defer.fail(Conflict6("%s is %s" % (value, "taken" if taken else "reserved"),
                                        True))
        previous = self.ias6.get(ia.duid, {}).get((ia.kind, ia.iaid))
        if previous and previous != value:
            record = self.leases6.get(previous)
            if record and record.ia == ia:
                self._end6(previous, now)
        self._record6(value, ia, "bound", now + valid, source.name if source else "", mac)
        return defer.succeed(Lease6(ia, value, "bound", now + valid))

    def commit6(self, ia: IAKey, value: str, source: Source6, valid: int, now: int,
                mac: str = "") -> Deferred[Lease6]:
        return self._commit6(ia, value, source, valid, now, mac)

    def bind6(self, ia: IAKey, source: Source6, hints: Sequence[str], valid: int, now: int,
              mac: str = "") -> Deferred[Lease6 | None]:
        async def bind() -> Lease6 | None:
            offered = await self.offer6(ia, source, hints, now, 0)
            if offered is None:
                return None
            return await self._commit6(ia, offered.value, source, valid, now, mac)

        return defer.ensureDeferred(bind())

    def commit6_reserved(self, ia: IAKey, value: str, valid: int,
                         now: int) -> Deferred[Lease6]:
        return self._commit6(ia, value, None, valid, now, "")

    def release6(self, ia: IAKey, value: str, now: int) -> Deferred[bool]:
        found = allocation6.canonical(value)
        record = self.leases6.get(found) if found else None
        if found is None or record is None or record.ia != ia:
            return defer.succeed(False)
        self._end6(found, now)
        return defer.succeed(True)

    def decline6(self, ia: IAKey, value: str, now: int, probation: int) -> Deferred[bool]:
        found = allocation6.canonical(value)
        record = self.leases6.get(found) if found else None
        if found is None or record is None or record.ia != ia or not ia.duid:
            return defer.succeed(False)
        self._end6(found, now)
        self.leases6[found] = Record6(None, "declined", now + probation, record.pool)
        self.free6.get(record.pool, {}).pop(found, None)
        return defer.succeed(True)

    def reclaim6(self, now: int) -> Deferred[int]:
        expired = [value for value, record in self.leases6.items() if record.expires <= now]
        for value in expired:
            self._end6(value, now)
        return defer.succeed(len(expired))

    def server_duid(self, name: str, proposed: str) -> Deferred[str]:
        return defer.succeed(self.server_duids.setdefault(name, proposed))
