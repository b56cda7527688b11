# mypy: disable-error-code="empty-body"
# (the zope interfaces below declare methods without bodies)
"""The inventory and lease store: the IStore contract, its value types, and MemoryStore.

Knows what the server asks of a store and the allocation semantics every store must share
(the contract tests in tests/test_store.py pin them). Knows nothing of packets or Redis:
`redisstore.py` is the same contract on Redis, `MemoryStore` is the same contract in a dict.

Host keys are the seed's: `mac:<aa:bb:cc:dd:ee:ff>` and `client:<id>`. Addresses are dotted
strings. Times are integer unix seconds passed in by the caller, so stores never read a clock.
"""

from collections.abc import Callable, Mapping, Sequence

import attr
from twisted.internet.defer import Deferred
from zope.interface import Interface

from apidhcpd.inventory import classes, rules
from apidhcpd.inventory.allocation import Range
from apidhcpd.inventory.classes import NO_FACTS
from apidhcpd.inventory.classes import Facts as Facts  # a value of the contract
from apidhcpd.inventory.rules import AddressSource as AddressSource  # a value of the contract
from apidhcpd.store import keys


class StoreUnavailable(Exception):
    """The backing database cannot be reached right now; the caller drops the packet."""


@attr.s(frozen=True, slots=True)
class Host:
    """A known client: the hash stored under `key` (`mac:...` or `client:...`)."""

    key: str = attr.ib()
    fields: dict[str, str] = attr.ib(factory=dict, eq=False)

    @property
    def ip(self) -> str | None:
        return self.fields.get("ip") or None

    @property
    def dynamic(self) -> bool:
        return bool(self.fields.get("dynamic"))

    @property
    def reserved_ip(self) -> str | None:
        """The fixed address the inventory gives this host, or None for a dynamic client."""
        return None if self.dynamic else self.ip

    @property
    def group_name(self) -> str:
        """The group whose options this host gets (the seed's rules)."""
        explicit = self.fields.get("group")
        if explicit:
            return keys.group_name(explicit)
        return rules.DEFAULT_GROUP if self.reserved_ip else rules.SEED_POOL_GROUP


@attr.s(frozen=True, slots=True)
class Lookup:
    """What one lookup returns: the host (or None), its group's fields, group:default's, the
    subnet the request is on (`192.0.2.0/24`, or None where no `subnet:` key matches), and
    every client class (`class:<name>`) as (name, fields), sorted by name: which of them a
    client matches, inventory/classes.py says from the client's Facts.
    Its dicts are never changed once handed out: the inventory cache shares them between
    lookups, and GroupOptions knows them by identity."""

    host: Host | None = attr.ib()
    group_name: str = attr.ib()
    group_fields: dict[str, str] = attr.ib(factory=dict)
    default_fields: dict[str, str] = attr.ib(factory=dict)
    subnet: str | None = attr.ib(default=None)
    subnet_fields: dict[str, str] = attr.ib(factory=dict)
    # what the store did with an Intent in the same call, if it could; None when it did nothing
    allocation: "Allocation | None" = attr.ib(default=None)
    classes: tuple[tuple[str, dict[str, str]], ...] = attr.ib(default=())


@attr.s(frozen=True, slots=True)
class OfferIntent:
    """A DISCOVER is next: offer `mac` an address (`requested`, the one it asks for, if it
    may have it) and hold it for `hold` seconds."""

    mac: str = attr.ib()
    requested: str = attr.ib(default="")
    hold: int = attr.ib(default=0)
    facts: Facts = attr.ib(default=NO_FACTS)  # what the client says, for its classes


@attr.s(frozen=True, slots=True)
class CommitIntent:
    """A REQUEST in `state` (SELECTING, INIT-REBOOT, RENEWING) for `address` is next: bind it
    to `mac`, keeping the relay's option 82 and the client's host name (the seed's id)."""

    mac: str = attr.ib()
    address: str = attr.ib()
    state: str = attr.ib(default="")
    relay: bytes = attr.ib(default=b"")
    client: str = attr.ib(default="")
    facts: Facts = attr.ib(default=NO_FACTS)  # what the client says, for its classes


# What the server will do after a lookup, so that a store can do it in the same round trip.
# A store may ignore it; the server then calls offer()/commit() itself.
Intent = OfferIntent | CommitIntent


@attr.s(frozen=True, slots=True)
class Lease:
    ip: str = attr.ib()
    mac: str = attr.ib()
    state: str = attr.ib()  # "offered", "bound" or "declined"
    expires: int = attr.ib()
    relay: str = attr.ib(default="")  # the relay's option 82, hex


NO_FIELDS: dict[str, str] = {}  # the one empty hash for an absent host, group or subnet:
# never written to, shared so that GroupOptions can know it by identity


def group_of(host: Host | None, subnet_fields: Mapping[str, str],
             exists: Callable[[str], bool]) -> str:
    """The group a request is answered from (common.lua's lookup does the same): the host's
    own, `default` for a reserved host, else the subnet's `group` or `pool`; `default` when
    that group does not exist (`exists(name)` says)."""
    if host and (host.fields.get("group") or host.reserved_ip):
        name = host.group_name
    else:
        name = keys.group_name(subnet_fields.get("group", rules.SEED_POOL_GROUP))
    return name if exists(name) else rules.DEFAULT_GROUP


def first_host(host_keys: Sequence[str], found: Mapping[str, dict[str, str]]) -> Host | None:
    """The host a lookup finds among `found` ({key: fields} of the keys that exist): the first
    of `host_keys` that is not a dynamic lease record (lease_record), else the first that is
    (lookup.lua's order)."""
    fallback: Host | None = None
    for key in host_keys:
        if found.get(key):
            candidate = Host(key, dict(found[key]))
            if not lease_record(candidate.fields):
                return candidate
            fallback = fallback or candidate
    return fallback


def matched_classes(lookup: Lookup, facts: Facts) -> tuple[classes.Class, ...]:
    """The classes of `lookup` that a client with these facts matches, in the order they
    apply (classes.matched)."""
    return classes.matched(lookup.classes, facts) if lookup.classes else ()


def source_of(lookup: Lookup, facts: Facts = NO_FACTS) -> AddressSource:
    """Where a dynamic client's address comes from (rules.address_source): a matched class's
    range on the subnet, else the subnet's or the group's."""
    return rules.address_source(lookup.group_name, lookup.group_fields, lookup.subnet,
                                lookup.subnet_fields, matched_classes(lookup, facts))


def lease_time_of(lookup: Lookup, facts: Facts = NO_FACTS) -> int:
    """The lease time in seconds (rules.lease_time): host over the matched classes (the
    winner first) over group over subnet over group:default; 86400 when none is set or it
    does not parse."""
    host = lookup.host.fields if lookup.host else NO_FIELDS
    group = lookup.group_fields if lookup.group_name != rules.DEFAULT_GROUP else NO_FIELDS
    by_class = [fields for _, fields in reversed(matched_classes(lookup, facts))]
    return rules.lease_time(host, *by_class, group, lookup.subnet_fields,
                            lookup.default_fields)


RECHECK_AFTER = 60  # seconds a pool found full is believed full (common.lua's RECHECK_AFTER)
RECORD_GRACE = 86400  # seconds a dynamic client's mac: record outlives its lease (common.lua)


def server_written(fields: dict[str, str]) -> bool:
    """Does a mac: hash hold only what the server writes for a dynamic client (common.lua's
    pure_record): `ip`, `dynamic`, `ts` and the seed's `description` dynamic:<client>?"""
    return all(name in ("ip", "dynamic", "ts") or
               (name == "description" and value.startswith(keys.DYNAMIC_DESCRIPTION))
               for name, value in fields.items())


def lease_record(fields: dict[str, str]) -> bool:
    """A hash that stands for no host of its own (common.lua's lease_record): a dynamic
    client's lease record, or one left with nothing an operator wrote and no address."""
    return "dynamic" in fields or (server_written(fields) and "ip" not in fields)


class Conflict(Exception):
    """commit() refused: the address is another client's (`taken`), or not in the pool."""

    def __init__(self, message: str, taken: bool):
        super().__init__(message)
        self.taken = taken


@attr.s(frozen=True, slots=True)
class Offered:
    """An OfferIntent's result: the address offered, or None when none is free."""

    ip: str | None = attr.ib()


@attr.s(frozen=True, slots=True)
class Bound:
    """A CommitIntent's result: the address is the client's until `lease.expires`."""

    lease: "Lease" = attr.ib()


@attr.s(frozen=True, slots=True)
class Holds:
    """A CommitIntent's result: the client holds another unexpired lease, on `ip`."""

    ip: str = attr.ib()


@attr.s(frozen=True, slots=True)
class Refused:
    """A CommitIntent's result: commit() would have failed with `conflict`."""

    conflict: Conflict = attr.ib()


Allocation = Offered | Bound | Holds | Refused


class IStore(Interface):  # type: ignore[misc]  # zope.interface has no types
    """The operations the DHCP server performs on the inventory. All return Deferreds."""

    def lookup(host_keys: Sequence[str], now: int, selector: str,
               intent: Intent | None = None) -> Deferred[Lookup]:
        """Find the host: the first of `host_keys` that exists (`client:...`, `mac:...`,
        `relay:...`), a dynamic lease record (`mac:` with `dynamic`) only if nothing else
        matches; write its `ts`; find the longest `subnet:<net>/<len>` holding `selector`;
        return a Lookup with the host's group (falling back to `default`). With an `intent`,
        the store may also offer or commit for a client without a reservation (allocation).
        A caller that already knows the subnet passes `subnet` ("" for none): no search, and
        the store may leave out the group, default and subnet fields (the caller has them)."""

    def lease_of(mac: str, now: int) -> Deferred[Lease | None]:
        """The dynamic lease (bound or offered, unexpired) this MAC holds, or None."""

    def offer(mac: str, source: AddressSource, requested: str | None, now: int,
              hold: int) -> Deferred[str | None]:
        """Pick an address for a DISCOVER and hold it for `hold` seconds; the address or None.
        Order: this MAC's current lease, the requested address, the seed pool, the ranges."""

    def commit(mac: str, ip: str, source: AddressSource, lease_time: int, now: int,
               relay: bytes = b"", state: str = "", client: str = "") -> Deferred[Lease]:
        """Bind `ip` to `mac` until now+lease_time, keeping the relay's option 82 with it;
        return the Lease or fail with Conflict. A client's REQUEST names its `state`
        (SELECTING, INIT-REBOOT, RENEWING): then the store must have a record of `mac` for
        `ip` (its offer or lease, or the seed's pool hash naming it), RFC 2131 4.3.2.
        `mac:<mac>` gets `ip`, `dynamic`, `ts` and, if it has none, the seed's `description`
        dynamic:<client> (the client's host name)."""

    def lease_holder(ip: str, now: int) -> Deferred[str | None]:
        """The MAC of the unexpired lease (offered or bound) on `ip`, or None."""

    def release(mac: str, ip: str, now: int) -> Deferred[bool]:
        """End the lease of `ip` if `mac` holds it; True if something was released."""

    def release_offer(mac: str, keep: str = "") -> Deferred[None]:
        """Drop an unconfirmed offer made to `mac` (it chose another server), unless it is of
        `keep`, the address the client asks that server for (servers sharing a store may
        have offered the same one)."""

    def decline(mac: str, ip: str, now: int, probation: int) -> Deferred[bool]:
        """Quarantine `ip` until now+probation if `mac` holds its lease (the client loses it);
        True, or False when `mac` holds no lease on `ip` and nothing changed."""

    def reclaim(now: int) -> Deferred[int]:
        """End every lease that expired; the number reclaimed."""

    def refresh_reserved() -> Deferred[int | None]:  # type: ignore[misc]
        """Rebuild the index of addresses reserved by hosts (written by hand with redis-cli)."""

    def ping() -> Deferred[object]:  # type: ignore[misc]
        """Fire when the store answers; fail with StoreUnavailable otherwise."""

class ICacheable(Interface):  # type: ignore[misc]  # zope.interface has no types
    """What InventoryCache needs of the store beneath it, besides IStore: the change stream,
    `ts` written in batches, and allocation for a host the cache already knows. The memory
    and Redis stores provide it; the HTTP store (its API node caches) does not."""

    def watch(changed: Callable[[str], object], watching: Callable[[bool], object]) -> None:
        """Call `changed(key)` for every inventory key written through put() (by any server,
        the API or the CLI), and `watching(up)` when that stream starts or breaks."""

    def touch(keys: Sequence[str], now: int) -> Deferred[object]:
        """Write `ts` on these hosts (answered without a lookup), where they still exist."""

    def allocate(intent: Intent, source: AddressSource, lease_time: int,
                 now: int) -> Deferred[Allocation]:
        """What lookup() with `intent` does after the lookup, for a caller that knows the host:
        an Allocation (Offered for an OfferIntent; Bound, Holds or Refused for a CommitIntent)."""


class IAdmin(Interface):  # type: ignore[misc]  # zope.interface has no types
    """What the admin API and the CLI do to the inventory. Keys are the Redis contract's
    (`mac:...`, `group:...`, `subnet:...`, `pool`); values are the hashes' fields."""

    def hashes(prefix: str) -> Deferred[dict[str, dict[str, str]]]:
        """Every hash whose key starts with `prefix`, as {key: fields}."""

    def get(key: str) -> Deferred[dict[str, str] | None]:
        """The hash at `key`, or None."""

    def put(key: str, fields: dict[str, str], mode: str = "replace") -> Deferred[dict[str, str]]:
        """Write a hash (`replace` it, `merge` fields into it, or `remove` the named fields),
        keeping the reserved-address index true; the hash as it is afterwards."""

    def delete(key: str) -> Deferred[bool]:
        """Delete a hash; True if it existed."""

    def leases(offset: int = 0, count: int = 1000) -> Deferred[list[Lease]]:
        """Leases in expiry order."""

    def end_lease(ip: str) -> Deferred[bool]:
        """End the lease on `ip` whoever holds it; True if there was one."""

    # Reads whose cost is bounded by what they return, not by the size of the inventory:
    # what the admin API serves from, on the reactor that also answers DHCP.

    def scan(prefix: str, cursor: str, count: int) -> Deferred[tuple[str, list[str]]]:
        """One step of a walk over the keys that start with `prefix`: (next cursor, keys).
        The step looks at about `count` keys of the whole store, so it may find none;
        cursor "0" starts a walk and ends it. A key present for the whole walk is found at
        least once (Redis SCAN's guarantee)."""

    def get_many(keys: Sequence[str]) -> Deferred[dict[str, dict[str, str]]]:
        """{key: fields} of those of `keys` that exist."""

    def size() -> Deferred[int]:  # type: ignore[misc]
        """How many keys the store holds (what a whole walk costs)."""

    def subnet_of(ip: str) -> Deferred[str | None]:
        """The longest `subnet:` key holding `ip` (without its prefix: `198.51.100.0/24`),
        or None; as the lookup finds it, by probing the 33 possible keys."""

    def holders(ip: str) -> Deferred[list[tuple[str, bool]]]:
        """[(host key, dynamic)] of the hosts whose `ip` is `ip`: the reservation (by the
        `reserved` index) and the dynamic lease (by `lease:<ip>`)."""

    def group_users(name: str, limit: int) -> Deferred[list[str]]:
        """Up to `limit` host and subnet keys whose `group` names group `name`."""

    def lease_at(ip: str) -> Deferred[Lease | None]:
        """The Lease on `ip` (expired or not, until reclaimed), or None."""

    def lease_count() -> Deferred[int]:  # type: ignore[misc]
        """How many leases there are."""

    def field(key: str, name: str) -> Deferred[str | None]:
        """One field of a hash, or None."""

    def hash_scan(key: str, cursor: str, count: int) -> Deferred[tuple[str, dict[str, str]]]:
        """One step of a walk over a hash's fields: (next cursor, {field: value})."""

    def hash_size(key: str) -> Deferred[int]:
        """How many fields a hash has."""

    def pool_tally(pools: Sequence[tuple[str, tuple[Range, ...]]],
                   now: int) -> Deferred[list[dict[str, int]]]:
        """For each (name, ranges) pool, the unexpired leases inside its ranges by state:
        [{"bound": n, "offered": n, "declined": n}, ...] in the order given."""

    def seed_pool_tally(now: int) -> Deferred[dict[str, int]]:
        """The seed's `pool` hash: {"size", "bound", "offered", "declined"}, where an address
        with an owner and no unexpired lease counts as bound (the Go prototype's data)."""
