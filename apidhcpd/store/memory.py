"""MemoryStore: the IStore, IStore6 and IAdmin contract in process memory, for unit tests and
as the reference the Redis store must match (tests/test_store.py and tests/test_store6.py run
the same tests on both)."""


from collections.abc import Callable, Sequence

import attr
from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from zope.interface import implementer

from apidhcpd.inventory import allocation
from apidhcpd.store import keys
from apidhcpd.store.contract import (
    RECHECK_AFTER,
    AddressSource,
    Allocation,
    Bound,
    Conflict,
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
    first_host,
    group_of,
    lease_time_of,
    source_of,
)
from apidhcpd.store.contract6 import IAdmin6, ICacheable6, IStore6
from apidhcpd.store.keys import HOST_PREFIXES
from apidhcpd.store.memory6 import Memory6
from apidhcpd.store.memoryadmin6 import MemoryAdmin6


@implementer(IStore, IStore6, ICacheable, ICacheable6, IAdmin, IAdmin6)
class MemoryStore(MemoryAdmin6, Memory6):
    """IStore in process memory: for unit tests, and the reference the Redis store must match.
    IStore6 (DHCPv6) comes from memory6.py, IAdmin6 (the admin's DHCPv6 reads) from
    memoryadmin6.py."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, dict[str, str]] = {}
        self.lease_records: dict[str, Lease] = {}
        self.offers: dict[str, str] = {}
        self.cursors: dict[str, int] = {}  # pool -> the last address (number) handed out
        self.reserved: set[str] = set()
        # watch(): told of every key put() writes
        self._watchers: list[Callable[[str], object]] = []
        self.dry: dict[str, int] = {}  # pool -> until when its ranges are believed full

    # helpers for tests and the CLI-free examples

    def hset(self, key: str, **fields: str) -> None:
        self.data.setdefault(key, {}).update({k.replace("_", "-"): str(v)
                                                 for k, v in fields.items()})

    # IStore

    def lookup(self, host_keys: Sequence[str], now: int, selector: str,
               intent: Intent | None = None, subnet: str | None = None) -> Deferred[Lookup]:
        host = first_host(host_keys, self.data)
        if subnet is None:
            subnet = allocation.longest_match(selector, self._networks())
        subnet_fields = dict(self.data.get(keys.subnet(subnet), {})) if subnet else {}
        if host:
            self.data[host.key]["ts"] = str(now)
            host = Host(host.key, dict(self.data[host.key]))
            if host.reserved_ip:
                self.reserved.add(host.reserved_ip)
        name = group_of(host, subnet_fields, lambda name: keys.group(name) in self.data)
        found = Lookup(host, name, dict(self.data.get(keys.group(name), {})),
                       dict(self.data.get(keys.DEFAULT_GROUP, {})),
                       subnet if subnet_fields else None, subnet_fields,
                       classes=tuple(sorted((k[len(keys.CLASS):], dict(v)) for k, v in
                                            self.data.items() if k.startswith(keys.CLASS) and v)))
        if intent is None or (host is not None and host.reserved_ip):
            return defer.succeed(found)
        # as discover.lua and request.lua do: the allocation in the same call
        def done(allocation: Allocation) -> Lookup:
            return attr.evolve(found, allocation=allocation)

        return self.allocate(intent, source_of(found, intent.facts),
                             lease_time_of(found, intent.facts), now).addCallback(done)

    def watch(self, changed: Callable[[str], object],
              watching: Callable[[bool], object]) -> None:
        self._watchers.append(changed)
        watching(True)

    def touch(self, host_keys: Sequence[str], now: int) -> Deferred[None]:
        for key in host_keys:
            if self.data.get(key):
                self.data[key]["ts"] = str(now)
        return defer.succeed(None)

    def lease_of(self, mac: str, now: int) -> Deferred[Lease | None]:
        return defer.succeed(self._lease_of(mac, now))

    def _lease_of(self, mac: str, now: int) -> Lease | None:
        fields = self.data.get(keys.mac(mac), {})
        ip = fields.get("ip")
        lease = self.lease_records.get(ip) if ip and fields.get("dynamic") else None
        return lease if lease and lease.mac == mac and lease.expires > now else None

    def _available(self, ip: str, mac: str, now: int) -> bool:
        lease = self.lease_records.get(ip)
        pool_owner = self._seed_pool().get(ip, "")
        return allocation.available(
            ip, mac, now, reserved=ip in self.reserved,
            lease_mac=lease.mac if lease else None,
            lease_expires=lease.expires if lease else 0,
            pool_owner=pool_owner)

    def _in_source(self, ip: str, source: AddressSource) -> bool:
        return allocation.in_ranges(ip, source.ranges) or (
            source.seed_pool and ip in self._seed_pool())

    def offer(self, mac: str, source: AddressSource, requested: str | None, now: int,
              hold: int) -> Deferred[str | None]:
        def usable(ip: str | None) -> bool:
            return ip is not None and ip != "" and self._in_source(ip, source) \
                and self._available(ip, mac, now)

        current = self.data.get(keys.mac(mac), {})
        candidates: list[str | None] = []
        if current.get("dynamic"):
            candidates.append(current.get("ip"))
        candidates += [self.offers.get(mac), requested]
        choice = next((ip for ip in candidates if usable(ip)), None)
        if choice is None and source.seed_pool:
            pool = self._seed_pool()
            choice = next((ip for ip, owner in pool.items()
                           if owner in ("", mac) and self._available(ip, mac, now)), None)
        if choice is None and source.ranges and self.dry.get(source.name, 0) <= now:
            cursor = self.cursors.get(source.name, -1)
            choice = next((ip for ip in allocation.scan_after(source.ranges, cursor)
                           if self._available(ip, mac, now)), None)
            if choice is None:
                self.dry[source.name] = now + RECHECK_AFTER
            else:
                self.cursors[source.name] = allocation.ip_to_int(choice)
        if choice is None:
            return defer.succeed(None)
        lease = self.lease_records.get(choice)
        if not (lease and lease.mac == mac and lease.state == "bound" and lease.expires > now):
            self._take_over(choice, mac)
            self.lease_records[choice] = Lease(choice, mac, "offered", now + hold)
        self.offers[mac] = choice
        return defer.succeed(choice)

    def commit(self, mac: str, ip: str, source: AddressSource, lease_time: int, now: int,
               relay: bytes = b"", state: str = "", client: str = "") -> Deferred[Lease]:
        if not self._in_source(ip, source):
            return defer.fail(Conflict("%s is not in the pool of %s" % (ip, source.name), False))
        if not self._available(ip, mac, now):
            return defer.fail(Conflict("%s is taken" % ip, True))
        known = self.lease_records.get(ip)
        if state and not ((known and known.mac == mac)
                          or self._seed_pool().get(ip) == mac):
            return defer.fail(Conflict("no record of %s for %s" % (ip, mac), False))
        host = self.data.setdefault(keys.mac(mac), {})
        previous = host.get("ip") if host.get("dynamic") else None
        if previous and previous != ip:
            self._free(previous, mac)
        self._take_over(ip, mac)
        lease = Lease(ip, mac, "bound", now + lease_time, relay.hex())
        self.lease_records[ip] = lease
        host.update({"ip": ip, "dynamic": "1", "ts": str(now)})
        host.setdefault("description", keys.DYNAMIC_DESCRIPTION + client)
        if ip in self._seed_pool():
            self.data[keys.SEED_POOL][ip] = mac
        self.offers.pop(mac, None)
        return defer.succeed(lease)

    def allocate(self, intent: Intent, source: AddressSource, lease_time: int,
                 now: int) -> Deferred[Allocation]:
        if isinstance(intent, OfferIntent):
            return self.offer(intent.mac, source, intent.requested or None, now,
                              intent.hold).addCallback(lambda ip: Offered(ip or None))
        held = self._lease_of(intent.mac, now)
        if intent.state != "SELECTING" and held is not None and held.ip != intent.address:
            return defer.succeed(Holds(held.ip))
        def refused(failure: Failure) -> Refused | Failure:
            if isinstance(failure.value, Conflict):
                return Refused(failure.value)
            return failure

        committed: Deferred[Allocation] = self.commit(
            intent.mac, intent.address, source, lease_time, now, intent.relay, intent.state,
            intent.client).addCallbacks(Bound, refused)
        return committed

    def _take_over(self, ip: str, mac: str) -> None:
        """ip's lease record may be another client's expired one: its mac: record lets go."""
        holder = self.lease_records.get(ip)
        if holder is not None and holder.mac not in ("", mac):
            record = self.data.get(keys.mac(holder.mac), {})
            if record.get("ip") == ip and record.get("dynamic"):
                del record["ip"], record["dynamic"]

    def _free(self, ip: str, mac: str) -> bool:
        lease = self.lease_records.get(ip)
        if lease is None or lease.mac != mac:
            return False
        self.dry.clear()
        del self.lease_records[ip]
        pool = self._seed_pool()
        if pool.get(ip) == mac:
            pool[ip] = ""
        host = self.data.get(keys.mac(mac), {})
        if host.get("ip") == ip and host.get("dynamic"):
            host.pop("ip")
            host.pop("dynamic")
        return True

    def release(self, mac: str, ip: str, now: int) -> Deferred[bool]:
        return defer.succeed(self._free(ip, mac))

    def release_offer(self, mac: str, keep: str = "") -> Deferred[None]:
        if keep and self.offers.get(mac) == keep:
            return defer.succeed(None)
        ip = self.offers.pop(mac, None)
        lease = self.lease_records.get(ip) if ip is not None else None
        if lease and lease.mac == mac and lease.state == "offered":
            del self.lease_records[lease.ip]
            self.dry.clear()
        return defer.succeed(None)

    def decline(self, mac: str, ip: str, now: int, probation: int) -> Deferred[bool]:
        lease = self.lease_records.get(ip)
        if not mac or lease is None or lease.mac != mac:
            return defer.succeed(False)
        self._free(ip, mac)
        self.lease_records[ip] = Lease(ip, "", "declined", now + probation)
        return defer.succeed(True)

    def lease_holder(self, ip: str, now: int) -> Deferred[str | None]:
        lease = self.lease_records.get(ip)
        return defer.succeed(lease.mac if lease and lease.mac and lease.expires > now else None)

    def reclaim(self, now: int) -> Deferred[int]:
        expired = [lease for lease in self.lease_records.values() if lease.expires <= now]
        for lease in expired:
            if not self._free(lease.ip, lease.mac):
                del self.lease_records[lease.ip]
                self.dry.clear()
        return defer.succeed(len(expired))

    def refresh_reserved(self) -> Deferred[int | None]:
        self.reserved = {ip for ip in (host.reserved_ip for host in self._hosts()) if ip}
        before = set(self.subnets6)
        self._refresh6()
        for network in sorted(self.subnets6 - before):  # published, as subnets6_batch.lua does
            for changed in self._watchers:
                changed(keys.subnet6(network))
        return defer.succeed(len(self.reserved))

    def _seed_pool(self) -> dict[str, str]:
        """The seed's `pool` hash: address -> owner MAC ("" for none)."""
        return self.data.get(keys.SEED_POOL, {})

    def _networks(self) -> list[str]:
        """The `subnet:` keys without their prefix."""
        return [keys.network(k) for k in self.data if k.startswith(keys.SUBNET)]

    def _hosts(self) -> list[Host]:
        return [Host(key, fields) for key, fields in self.data.items()
                if key.startswith(HOST_PREFIXES)]

    def ping(self) -> Deferred[object]:
        return defer.succeed(True)

    # IAdmin

    def hashes(self, prefix: str) -> Deferred[dict[str, dict[str, str]]]:
        return defer.succeed({k: dict(v) for k, v in self.data.items()
                              if k.startswith(prefix) and v})

    def get(self, key: str) -> Deferred[dict[str, str] | None]:
        found = self.data.get(key)
        return defer.succeed(dict(found) if found else None)

    def put(self, key: str, fields: dict[str, str],
            mode: str = "replace") -> Deferred[dict[str, str]]:
        before = Host(key, dict(self.data.get(key, {})))
        if mode == "remove":
            current = self.data.get(key, {})
            for name in fields:
                current.pop(name, None)
        elif mode == "replace":
            self.data[key] = dict(fields)
        else:
            self.data.setdefault(key, {}).update(fields)
        after = Host(key, self.data.get(key, {}))
        if key.startswith(HOST_PREFIXES):
            if before.reserved_ip and before.reserved_ip != after.reserved_ip:
                self.reserved.discard(before.reserved_ip)
            if after.reserved_ip:
                self.reserved.add(after.reserved_ip)
        self._put6(key, before.fields, after.fields)
        if not self.data.get(key):
            self.data.pop(key, None)
        self.dry.clear()  # a range may have grown
        for changed in self._watchers:
            changed(key)
        return defer.succeed(dict(self.data.get(key, {})))

    def delete(self, key: str) -> Deferred[bool]:
        existed = bool(self.data.get(key))
        return self.put(key, {}, "replace").addCallback(lambda _: existed)

    def leases(self, offset: int = 0, count: int = 1000) -> Deferred[list[Lease]]:
        ordered = sorted(self.lease_records.values(), key=lambda lease: (lease.expires, lease.ip))
        return defer.succeed(ordered[offset:offset + count])

    def end_lease(self, ip: str) -> Deferred[bool]:
        lease = self.lease_records.get(ip)
        if lease is None:
            return defer.succeed(False)
        if not self._free(ip, lease.mac):
            del self.lease_records[ip]
            self.dry.clear()
        return defer.succeed(True)

    # IAdmin: bounded reads (a cursor is a position in the sorted keys; not for big data)

    def scan(self, prefix: str, cursor: str, count: int) -> Deferred[tuple[str, list[str]]]:
        keys = sorted(self.data)
        start = int(cursor)
        end = start + max(1, count)
        return defer.succeed(("0" if end >= len(keys) else str(end),
                              [k for k in keys[start:end] if k.startswith(prefix)
                               and self.data[k]]))

    def get_many(self, names: Sequence[str]) -> Deferred[dict[str, dict[str, str]]]:
        return defer.succeed({k: dict(self.data[k]) for k in names if self.data.get(k)})

    def size(self) -> Deferred[int]:
        return defer.succeed(len(self.data))

    def subnet_of(self, ip: str) -> Deferred[str | None]:
        return defer.succeed(allocation.longest_match(ip, self._networks()))

    def holders(self, ip: str) -> Deferred[list[tuple[str, bool]]]:
        return defer.succeed([(key, bool(fields.get("dynamic")))
                              for key, fields in sorted(self.data.items())
                              if key.startswith(HOST_PREFIXES) and fields.get("ip") == ip])

    def group_users(self, name: str, limit: int) -> Deferred[list[str]]:
        names = (name, keys.group(name))
        return defer.succeed([key for key, fields in sorted(self.data.items())
                              if key.startswith((*keys.HOST_PREFIXES6, keys.SUBNET,
                                                 keys.SUBNET6))
                              and fields.get("group") in names][:limit])

    def lease_at(self, ip: str) -> Deferred[Lease | None]:
        return defer.succeed(self.lease_records.get(ip))

    def lease_count(self) -> Deferred[int]:
        return defer.succeed(len(self.lease_records))

    def field(self, key: str, name: str) -> Deferred[str | None]:
        return defer.succeed(self.data.get(key, {}).get(name))

    def hash_scan(self, key: str, cursor: str,
                  count: int) -> Deferred[tuple[str, dict[str, str]]]:
        names = sorted(self.data.get(key, {}))
        start = int(cursor)
        end = start + max(1, count)
        return defer.succeed(("0" if end >= len(names) else str(end),
                              {n: self.data[key][n] for n in names[start:end]}))

    def hash_size(self, key: str) -> Deferred[int]:
        return defer.succeed(len(self.data.get(key, {})))

    def pool_tally(self, pools: Sequence[tuple[str, tuple[allocation.Range, ...]]],
                   now: int) -> Deferred[list[dict[str, int]]]:
        live = [lease for lease in self.lease_records.values() if lease.expires > now]
        tallies = []
        for _, ranges in pools:
            counts = {"bound": 0, "offered": 0, "declined": 0}
            for lease in live:
                if allocation.in_ranges(lease.ip, ranges):
                    counts[lease.state] = counts.get(lease.state, 0) + 1
            tallies.append(counts)
        return defer.succeed(tallies)

    def seed_pool_tally(self, now: int) -> Deferred[dict[str, int]]:
        counts = {"size": 0, "bound": 0, "offered": 0, "declined": 0}
        for ip, owner in self._seed_pool().items():
            counts["size"] += 1
            lease = self.lease_records.get(ip)
            if lease is not None and lease.expires > now:
                counts[lease.state] = counts.get(lease.state, 0) + 1
            elif owner:
                counts["bound"] += 1
        return defer.succeed(counts)
