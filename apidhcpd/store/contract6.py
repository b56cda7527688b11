# mypy: disable-error-code="empty-body"
# (the zope interface below declares methods without bodies)
"""The DHCPv6 half of the store contract (RFC 8415 leases), beside contract.py's DHCPv4 one.

Knows what the DHCPv6 server asks of a store: the lookup of a client by its DUID, its MAC and
its relay's ids (the same `Host` and `Lookup` values as DHCPv4, the network being a
`subnet6:`), and the leases of its identity associations: one address per IA_NA, one prefix
per IA_PD, each keyed by (DUID, IAID, kind). Addresses and prefixes are strings in RFC 5952
form (`ipaddress`'s `compressed`; a prefix `2001:db8:100:100::/56`). Knows nothing of packets
or Redis; docs/redis.md ("DHCPv6") describes the keys. Times are integer unix seconds from
the caller.
"""

from collections.abc import Callable, Mapping, Sequence

import attr
from twisted.internet.defer import Deferred
from zope.interface import Interface

from apidhcpd.inventory import rules
from apidhcpd.inventory.allocation6 import NA as NA  # the kinds of IA served (no IA_TA)
from apidhcpd.inventory.allocation6 import PD as PD
from apidhcpd.inventory.allocation6 import Source6 as Source6  # a value of the contract
from apidhcpd.inventory.allocation6 import reservations6
from apidhcpd.store import keys
from apidhcpd.store.contract import Host, Lookup


@attr.s(frozen=True, slots=True)
class IAKey:
    """One identity association of one client: its DUID (lower-case hex), the IAID, and
    whether it holds an address (NA) or a delegated prefix (PD)."""

    duid: str = attr.ib()
    iaid: int = attr.ib()
    kind: str = attr.ib(default=NA)


@attr.s(frozen=True, slots=True)
class Lease6:
    """One IA's lease: `value` is the address (NA) or the prefix with its length (PD), held
    until `expires` (the valid lifetime's end). `state`: "offered" (held for an ADVERTISE),
    "bound" or "declined"."""

    ia: IAKey = attr.ib()
    value: str = attr.ib()
    state: str = attr.ib()
    expires: int = attr.ib()


def reserved_host6(host: Host | None) -> bool:
    """Does the host hold a reservation of either family (lookup6.lua's `reserved`): an
    `ip6` or `prefix6` that reads, or an `ip` that is not a dynamic lease's?"""
    return host is not None and bool(host.reserved_ip or reservations6(host.fields))


def group_of6(host: Host | None, subnet_fields: Mapping[str, str],
              exists: Callable[[str], bool]) -> str:
    """The group a DHCPv6 request is answered from (lookup6.lua): the host's own, `default`
    for a host with a reservation of either family, else the `subnet6:`'s `group` or `pool`;
    `default` when that group does not exist (`exists(name)` says)."""
    if host is not None and host.fields.get("group"):
        name = host.group_name
    elif reserved_host6(host):
        name = rules.DEFAULT_GROUP
    else:
        name = keys.group_name(subnet_fields.get("group", rules.SEED_POOL_GROUP))
    return name if exists(name) else rules.DEFAULT_GROUP


class Conflict6(Exception):
    """commit6() refused: the value is another client's (`taken`), reserved for another host,
    or not in the source."""

    def __init__(self, message: str, taken: bool):
        super().__init__(message)
        self.taken = taken


@attr.s(frozen=True, slots=True)
class Lease6Record:
    """A `lease6:<value>` record as the admin reads it: the value (an address, or a prefix with
    its length), the holding IA's DUID and IAID ("" and None for a declined value, which no IA
    holds), its kind (NA for an address, PD for a prefix), state, expiry, the pool it came from
    ("" for a host's reservation) and the client's MAC where the server knew it ("")."""

    value: str = attr.ib()
    duid: str = attr.ib()
    iaid: int | None = attr.ib()
    kind: str = attr.ib()
    state: str = attr.ib()
    expires: int = attr.ib()
    pool: str = attr.ib(default="")
    mac: str = attr.ib(default="")


class IStore6(Interface):  # type: ignore[misc]  # zope.interface has no types
    """The operations the DHCPv6 server performs on the inventory. All return Deferreds."""

    def lookup6(host_keys: Sequence[str], now: int, selector: str) -> Deferred[Lookup]:
        """Find the host as IStore.lookup does (the first of `host_keys` that exists:
        `duid:<hex>`, `mac:<mac>`, `relay:<interface-id>`, `remote:<remote-id>`; a dynamic
        lease record only if nothing else matches; write its `ts`), its group (falling back to
        `default`), group:default, every class, and the `subnet6:<net>/<len>` with the longest
        prefix holding `selector` (an IPv6 address: the relay's link-address or our
        interface's address). Lookup.subnet is that network (`2001:db8:1::/64`) or None."""

    def leases6_of(duid: str, now: int) -> Deferred[list[Lease6]]:
        """Every unexpired lease (offered or bound) of this DUID, any IAID and kind."""

    def offer6(ia: IAKey, source: Source6, hints: Sequence[str], now: int,
               hold: int) -> Deferred[Lease6 | None]:
        """Pick a value for a SOLICIT and hold it for `hold` seconds ("offered"); None when
        the source has nothing free. Order: the IA's current lease if still in the source, a
        hint (what the client asked for) if free and in the source, then the pool: its free
        list of given-back values, then new values from a cursor, a bounded number of
        checks per call whatever the pool's size (a /64 has 2^64 addresses). Never a value
        another client holds unexpired, a reserved one (`ip6`/`prefix6` of a host), or a
        declined one in probation."""

    def commit6(ia: IAKey, value: str, source: Source6, valid: int, now: int,
                mac: str = "") -> Deferred[Lease6]:
        """Bind `value` to `ia` until now+valid ("bound"); fail with Conflict6 when another
        client holds it unexpired, it is reserved for another host, or it is not in
        `source`. The IA's previous value, if different, is given back to its pool."""

    def bind6(ia: IAKey, source: Source6, hints: Sequence[str], valid: int, now: int,
              mac: str = "") -> Deferred[Lease6 | None]:
        """A REQUEST's binding in one call: the value offer6() would pick (the IA's offer or
        lease first), bound as commit6() binds it; None when the source has nothing free,
        Conflict6 as commit6()."""

    def commit6_reserved(ia: IAKey, value: str, valid: int, now: int) -> Deferred[Lease6]:
        """Record the lease of a host's reserved value (`ip6`/`prefix6`): no source check;
        Conflict6 when another client still holds it unexpired."""

    def release6(ia: IAKey, value: str, now: int) -> Deferred[bool]:
        """End the lease of `value` if `ia` holds it; True if something was released."""

    def decline6(ia: IAKey, value: str, now: int, probation: int) -> Deferred[bool]:
        """Quarantine `value` until now+probation if `ia` holds it; False (nothing changed)
        otherwise."""

    def reclaim6(now: int) -> Deferred[int]:
        """End every DHCPv6 lease that expired (values back to their pools); how many."""

    def server_duid(name: str, proposed: str) -> Deferred[str]:
        """The DUID (hex) of the server called `name` (its host name and interface): the one
        stored for that name, or `proposed` (a DUID-LLT made now), stored, when there is none,
        so that a server keeps its DUID across restarts. Servers sharing the store have
        different names, hence different DUIDs (a client's REQUEST names one)."""


class IAdmin6(Interface):  # type: ignore[misc]  # zope.interface has no types
    """What the admin API and the CLI read of the DHCPv6 side (beside contract.IAdmin): the
    leases, and the bounded reads validation needs. All return Deferreds; none reads more
    than a page of leases or a bounded number of keys per call, except holders6 without an
    index to trust (the CLI's: a walk over every key in small steps)."""

    def leases6_page(offset: int = 0, count: int = 1000) -> Deferred[list[Lease6Record]]:
        """A page of the DHCPv6 leases in expiry order (the `leases6` index): `count` of
        them from rank `offset`."""

    def lease6_count() -> Deferred[int]:  # type: ignore[misc]
        """How many DHCPv6 leases there are."""

    def lease6_at(value: str) -> Deferred[Lease6Record | None]:
        """The lease of `value` (RFC 5952 form; expired or not, until reclaimed), or None."""

    def subnet6_of(address: str) -> Deferred[str | None]:
        """The network of the longest `subnet6:` key holding `address` (`2001:db8:1::/64`), as
        lookup6 finds it (by the `subnets6` index), or None."""

    def holders6(value: str) -> Deferred[list[str]]:
        """The host keys (`duid:`, `mac:`, `client:`, `relay:`, `remote:`) whose `ip6` or
        `prefix6` reserves `value` (RFC 5952 form), in any spelling."""

    def pool6_tally(names: Sequence[str], now: int) -> Deferred[list[dict[str, int]]]:
        """For each pool name (`<subnet>` or `<subnet>#pd`), its unexpired leases by state:
        [{"bound": n, "offered": n, "declined": n}, ...] in the order given. A lease counts in
        the pool it came from (its `pool`); a reservation's lease in none."""


class ICacheable6(Interface):  # type: ignore[misc]  # zope.interface has no types
    """What InventoryCache needs beneath it to answer lookup6 (besides ICacheable): the IPv6
    networks as the lookup sees them. The memory and Redis stores provide it."""

    def networks6() -> Deferred[dict[str, dict[str, str]]]:  # type: ignore[misc]
        """{network: fields} of the `subnet6:` keys lookup6 matches: those the `subnets6`
        index names (network in RFC 5952 form, `2001:db8:1::/64`) that exist."""
