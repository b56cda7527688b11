"""What makes a change to the inventory valid: the fields a write names, what a write adds,
what a delete takes away.

Only problems that a write adds count (problems.py finds them in one hash, the way the server
reads it): what was stored before it, or is inherited from group:default, never blocks an
unrelated write. Then a newly reserved address may be no other host's (409). Problems are
one-line sentences, raised as one Invalid (inputs.py, with the key spellings). The API, the
CLI and the tests import every name of the family from here (__all__).

No I/O except the reads of the store it is given (IAdmin: `get`, and the bounded reads
`subnet_of`, `holders`, `group_users`, IAdmin6's `subnet6_of`, `holders6`, `lease6_at`
where the store has them, else `hashes`), or of a
Snapshot of the inventory (imports, which check many keys at once). Writing is the caller's:
the API maps Invalid to its JSON error (admin/app.py), the CLI prints one line per detail.
"""

import re
from collections.abc import Iterable

from twisted.internet import defer

from apidhcpd.admin.gateways import gateway_warnings, network_warnings
from apidhcpd.admin.inputs import (
    Invalid,
    class_key,
    client_key,
    duid_key,
    group_key,
    group_name,
    inventory_key,
    ipv4,
    mac_key,
    normalise_mac,
    noun,
    subnet6_key,
    subnet_key,
)
from apidhcpd.admin.problems import SERVER_FIELDS, added_errors, pool_entry_errors, user_view
from apidhcpd.dhcp4.profile import Link
from apidhcpd.inventory import allocation6
from apidhcpd.store import keys
from apidhcpd.store.contract import Host

# what the API, the CLI and the tests import from here, wherever it is written
__all__ = ["LEASED", "RESERVED", "Invalid", "Snapshot", "check_delete", "check_fields",
           "check_pool_removal", "check_snapshot", "check_write", "class_key", "client_key",
           "duid_key", "gateway_warnings", "group_key", "inventory_key", "ipv4", "mac_key",
           "network_warnings", "normalise_mac", "noun", "subnet6_key", "subnet_key",
           "user_view"]

_FIELD_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
RESERVED, LEASED = "address already reserved", "address already leased"


def check_fields(key: str, values: dict, removed: Iterable[str] = (),
                 nullable: bool = False) -> None:
    """Invalid (400) unless `values` (and the `removed` field names) may be written at `key`
    by an operator: names are field names (addresses in `pool`), values strings (or None,
    meaning remove, when `nullable`), `ts` and `dynamic` untouched (the server's)."""
    errors = []
    for name in list(values) + list(removed):
        value = values.get(name, "")
        if not isinstance(name, str) or not name:
            errors.append("%r: not a field name" % (name,))
        elif name in SERVER_FIELDS and key != keys.SEED_POOL:
            errors.append("%s: written by the server; it cannot be set or removed" % name)
        elif not (isinstance(value, str) or (nullable and value is None)):
            errors.append("%s: values are strings%s, not %s" % (
                name, " (or null to remove the field)" if nullable else "",
                type(value).__name__))
        elif key == keys.SEED_POOL:
            errors += pool_entry_errors(name, value or "")
        elif not _FIELD_NAME.fullmatch(name):
            errors.append("%r: not a field name (letters, digits, '.', '_', '-')" % (name,))
    if errors:
        raise Invalid(400, "invalid fields", errors, key)


async def check_write(store, key: str, before: dict[str, str] | None,
                      after: dict[str, str], link: Link | None = None) -> None:
    """Invalid unless the hash at `key` may change from `before` (None: new) to `after`.
    400 for each problem `after` has that `before` did not have; then 409 if a newly
    reserved address (or pool address) is another host's. `link`: the server's address and
    network (the API's), or None (the CLI's: nothing known about the interface).

    Reads only what the key needs from `store`: group:default, the host's group, the subnet
    of a host's address; for a new reservation, the other holders of the address (a store's
    `holders`, by its indexes; else every host hash). An empty `after` deletes the hash:
    check_delete judges it."""
    reader = _Reader(store)
    if not after:
        await check_delete(reader, key)
        return
    errors = await added_errors(reader, key, before, after, link)
    if errors:
        raise Invalid(400, "invalid " + noun(key), errors, key)
    conflicts = await _conflicts(reader, key, before, after)
    if conflicts:
        raise Invalid(409, conflicts[0][0], [message for _, message in conflicts], key)


async def check_delete(store, key: str) -> None:
    """Invalid (409) if `key` must not be deleted: group:default, or a group that a host or a
    subnet names (a store's `group_users`: a walk over every key in small steps; else every
    host and subnet hash)."""
    if key == keys.DEFAULT_GROUP:
        raise Invalid(409, "group:default must exist", [
            "group:default must exist: it serves reserved hosts without a group and every "
            "group inherits from it; change it with PUT or PATCH (apidhcpd-cli set group "
            "default) instead"])
    if not key.startswith(keys.GROUP):
        return
    if hasattr(store, "group_users"):
        users = await store.group_users(key.removeprefix(keys.GROUP), 4)
        more = " and more" if users[3:] else ""
    else:
        users = []
        for prefix in keys.HOST_PREFIXES6 + (keys.SUBNET, keys.SUBNET6):
            for other, fields in (await store.hashes(prefix)).items():
                if fields.get("group") and keys.group(group_name(fields["group"])) == key:
                    users.append(other)
        users.sort()
        more = " and %d more" % (len(users) - 3) if users[3:] else ""
    if users:
        raise Invalid(409, "group in use", ["%s is used by %s%s" % (
            key, ", ".join(users[:3]), more)])


def check_pool_removal(pool: dict[str, str], addresses: Iterable[str], force: bool) -> None:
    """Invalid unless every address is in the `pool` hash (404) and, unless `force`, has no
    owner (409: the owner's lease would lose its address)."""
    addresses = list(addresses)
    missing = ["%s is not in the pool" % ip for ip in addresses if ip not in pool]
    if missing:
        raise Invalid(404, "not in the pool", missing)
    held = ["%s is held by %s: end its lease first, or force the removal" % (ip, pool[ip])
            for ip in addresses if pool[ip]]
    if held and not force:
        raise Invalid(409, "address in use", held)


async def check_snapshot(before: dict[str, dict[str, str]], after: dict[str, dict[str, str]],
                         keys: Iterable[str], link: Link | None = None) -> None:
    """Invalid (400, every problem as `key: problem`) unless the inventory may go from
    `before` to `after` ({key: fields}, whole snapshots) by writing `keys`: check_write and
    check_delete for each key, judged against `after`, so that one import may create a
    group and the hosts that use it."""
    reader, details = _Reader(Snapshot(after)), []
    for key in keys:
        if after.get(key) is None:
            try:
                await check_delete(reader, key)
            except Invalid as e:
                details += e.lines()
            continue
        errors = await added_errors(reader, key, before.get(key), after[key], link)
        errors += [message for _, message in await _conflicts(reader, key, before.get(key),
                                                               after[key])]
        details += ["%s: %s" % (key, error) for error in errors]
    if details:
        raise Invalid(400, "invalid changes", details)


class Snapshot:
    """A whole inventory ({key: fields}) read like IAdmin (get, hashes): for imports."""

    def __init__(self, data: dict[str, dict[str, str]]):
        self.data = data

    def get(self, key):
        found = self.data.get(key)
        return defer.succeed(dict(found) if found else None)

    def hashes(self, prefix):
        return defer.succeed({k: dict(v) for k, v in self.data.items()
                              if k.startswith(prefix) and v})


class _Reader:
    """The store's reads, each made once per check."""

    def __init__(self, store):
        self.store = store
        self.cache = {}
        if hasattr(store, "group_users"):
            self.group_users = store.group_users

    async def get(self, key):
        if key not in self.cache:
            self.cache[key] = await self.store.get(key)
        return self.cache[key]

    async def hashes(self, prefix):
        if ("hashes", prefix) not in self.cache:
            self.cache[("hashes", prefix)] = await self.store.hashes(prefix)
        return self.cache[("hashes", prefix)]


async def _conflicts(reader, key, before, after) -> list[tuple[str, str]]:
    """(error, message) for each address the write newly claims that another host holds."""
    found = await _conflicts6(reader, key, before, after)
    if key == keys.SEED_POOL:
        added = [ip for ip in after if ip not in (before or {})]
        return [(RESERVED, "%s is reserved by %s" % (ip, other))
                for ip in added for other, dynamic in await _holders(reader, ip) if not dynamic]
    if not keys.is_host(key):
        return found
    ip = Host(key, after).reserved_ip
    if not ip or ip == Host(key, before or {}).reserved_ip:
        return found
    for other, dynamic in await _holders(reader, ip):
        if other == key:
            continue
        found.append((LEASED, "ip %s is already leased by %s" % (ip, other)) if dynamic else
                     (RESERVED, "ip %s is already reserved by %s" % (ip, other)))
    return sorted(found, key=lambda item: item[0] != RESERVED)


async def _conflicts6(reader, key, before, after) -> list[tuple[str, str]]:
    """(error, message) for each DHCPv6 value (`ip6`, `prefix6`) a host newly reserves that
    another host reserves, or another client holds as an offered or bound lease (its lease
    record names another DUID, and not this host's MAC). Expiry is not judged (no clock
    here): a lease still recorded counts until the server reclaims it."""
    if not key.startswith(keys.HOST_PREFIXES6):
        return []
    found = []
    for value in allocation6.reservations6(after):
        if value in allocation6.reservations6(before or {}):
            continue
        name = "prefix6" if "/" in value else "ip6"
        for other in await _holders6(reader, value):
            if other != key:
                found.append((RESERVED, "%s %s is already reserved by %s" % (name, value, other)))
        lease = await reader.store.lease6_at(value) if hasattr(reader.store, "lease6_at") \
            else None
        if lease is not None and lease.state in ("offered", "bound") and lease.duid \
                and key not in (keys.duid(lease.duid), lease.mac and keys.mac(lease.mac)):
            found.append((LEASED, "%s %s is already leased to %s" % (name, value,
                                                                     keys.duid(lease.duid))))
    return found


async def _holders6(reader, value):
    """The host keys reserving `value`: the store's `holders6` where it has them, else a
    scan of all host hashes (once a check)."""
    if hasattr(reader.store, "holders6"):
        return await reader.store.holders6(value)
    if "holders6" not in reader.cache:
        holders: dict[str, list[str]] = {}
        for prefix in keys.HOST_PREFIXES6:
            for other, fields in sorted((await reader.hashes(prefix)).items()):
                for reserved in allocation6.reservations6(fields):
                    holders.setdefault(reserved, []).append(other)
        reader.cache["holders6"] = holders
    return reader.cache["holders6"].get(value, ())


async def _holders(reader, ip):
    """[(host key, dynamic)] of the hosts holding `ip`: the store's `holders` where it has
    them, else a scan of all host hashes (once a check)."""
    if hasattr(reader.store, "holders"):
        return await reader.store.holders(ip)
    if "holders" not in reader.cache:
        holders: dict[str, list[tuple[str, bool]]] = {}
        for prefix in keys.HOST_PREFIXES:
            for other, fields in sorted((await reader.hashes(prefix)).items()):
                host = Host(other, fields)
                if host.ip:
                    holders.setdefault(host.ip, []).append((other, host.dynamic))
        reader.cache["holders"] = holders
    return reader.cache["holders"].get(ip, ())
