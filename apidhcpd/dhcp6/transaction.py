"""One DHCPv6 message on its way through the handler chain (Transaction6), the link it came in
on (Link6), the settings the handlers consult (Policy6), the store calls they make
(ChainStore6), and how a handler ends it (Drop, StatusReply).

Knows what a transaction holds: the client's message and the relays around it (outermost
first), what the relays say, the client's DUID and MAC, the lookup, the profile and the
reply as the steps build it. Knows nothing of sockets or of the rules themselves.
"""

import functools
import ipaddress
from collections.abc import Awaitable, Sequence
from typing import Protocol

import attr

from apidhcpd.dhcp6 import classes as client_classes
from apidhcpd.dhcp6.ia import IA, IA_CODES
from apidhcpd.dhcp6.message import Message, Packet, RelayMessage, unwrap
from apidhcpd.dhcp6.profile import Profile6
from apidhcpd.dhcp6.relay import RelayInfo6, relay_info
from apidhcpd.dhcp6.values import OptionError, Status
from apidhcpd.store.contract import Facts, Lookup
from apidhcpd.store.contract6 import IAKey, Lease6, Source6


class ChainStore6(Protocol):
    """A store as the DHCPv6 steps hold it: the IStore6 calls they make
    (store/contract6.py; zope interfaces mean nothing to mypy)."""

    def lookup6(self, host_keys: Sequence[str], now: int,
                selector: str) -> Awaitable[Lookup]: ...

    def leases6_of(self, duid: str, now: int) -> Awaitable[list[Lease6]]: ...

    def offer6(self, ia: IAKey, source: Source6, hints: Sequence[str], now: int,
               hold: int) -> Awaitable[Lease6 | None]: ...

    def bind6(self, ia: IAKey, source: Source6, hints: Sequence[str], valid: int, now: int,
              mac: str = "") -> Awaitable[Lease6 | None]: ...

    def commit6(self, ia: IAKey, value: str, source: Source6, valid: int, now: int,
                mac: str = "") -> Awaitable[Lease6]: ...

    def commit6_reserved(self, ia: IAKey, value: str, valid: int,
                         now: int) -> Awaitable[Lease6]: ...

    def release6(self, ia: IAKey, value: str, now: int) -> Awaitable[bool]: ...

    def decline6(self, ia: IAKey, value: str, now: int, probation: int) -> Awaitable[bool]: ...

    def server_duid(self, name: str, proposed: str) -> Awaitable[str]: ...


class Drop(Exception):
    """Stop without answering; the reason is logged (and counted under `kind` if given)."""

    def __init__(self, reason: str, kind: str = ""):
        super().__init__(reason)
        self.kind = kind


class StatusReply(Exception):
    """Answer a REPLY that carries only the identifiers and this status (UseMulticast)."""

    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code = code


@attr.s(frozen=True, slots=True)
class Link6:
    """The interface a message arrived on: its name and index, its global address and that
    address's network (what places a client that came through no relay), its link-local
    address and its MAC (for the server's DUID)."""

    name: str = attr.ib()
    index: int = attr.ib()
    address: str = attr.ib()
    network: ipaddress.IPv6Network = attr.ib()
    link_local: str | None = attr.ib(default=None)
    mac: str | None = attr.ib(default=None)


@attr.s(frozen=True)
class Policy6:
    """The server's settings that the DHCPv6 steps consult. `name` names the server to the
    store (its DUID is kept under it); `proposed_duid` (hex) is stored if none is."""

    name: str = attr.ib()
    proposed_duid: str = attr.ib()
    offer_hold: int = attr.ib(default=60)
    decline_probation: int = attr.ib(default=86400)


@attr.s
class Transaction6:
    """One message on its way through the chain, and what the chain decided."""

    packet: Packet = attr.ib()
    link: Link6 = attr.ib()
    now: int = attr.ib()
    unicast: bool = attr.ib(default=False)  # sent to one of our addresses, not ff02::1:2
    message: Message = attr.ib(init=False)
    relays: list[RelayMessage] = attr.ib(init=False)
    relay: RelayInfo6 = attr.ib(init=False)
    server_duid: bytes = attr.ib(default=b"")
    lookup: Lookup | None = attr.ib(default=None)
    profile: Profile6 | None = attr.ib(default=None)
    reply_type: int | None = attr.ib(default=None)
    ias: list[IA] = attr.ib(factory=list)  # the IAs of the reply, in the request's order
    status: Status | None = attr.ib(default=None)  # the reply's top-level status
    rapid_commit: bool = attr.ib(default=False)
    reply: Message | None = attr.ib(default=None)
    answer: Packet | None = attr.ib(default=None)  # the reply as sent (in RELAY-REPLs)
    values: list[str] = attr.ib(factory=list)  # what the reply gives, for the log line

    def __attrs_post_init__(self) -> None:
        self.message, self.relays = unwrap(self.packet)
        self.relay = relay_info(self.relays)

    @functools.cached_property
    def duid(self) -> str:
        """The client's DUID in lower-case hex ("" without a client id)."""
        raw = self.message.client_id
        return "" if raw is None else raw.hex()

    @functools.cached_property
    def mac(self) -> str | None:
        """The client's MAC: option 79 of the relay nearest it, else its DUID's."""
        return self.relay.mac or self.message.mac

    @property
    def selector(self) -> str:
        """The address that places the client on a `subnet6:`: the relays' link-address,
        else the receiving interface's global address."""
        return self.relay.link_address or self.link.address

    @functools.cached_property
    def client_ias(self) -> list[IA]:
        """The message's IA_NA, IA_TA and IA_PD options in the order sent (client_ias)."""
        return client_ias(self.message)

    @functools.cached_property
    def facts(self) -> Facts:
        return client_classes.facts(self.message, self.relay, self.duid, self.mac)


def client_ias(message: Message) -> list[IA]:
    """The message's IA_NA, IA_TA and IA_PD options in the order sent; malformed ones left
    out."""
    found = []
    for code, raw in message.options:
        if code in IA_CODES:
            try:
                found.append(IA.decode(code, raw))
            except OptionError:
                continue
    return found
