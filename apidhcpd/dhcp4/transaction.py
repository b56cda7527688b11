"""One request on its way through the handler chain (Transaction), the settings the handlers
consult (Policy), and how a handler ends it (Drop, Nak)."""

import functools
from collections.abc import Awaitable, Sequence
from typing import Protocol

import attr

from apidhcpd.dhcp4 import classes as client_classes
from apidhcpd.dhcp4 import options as opt
from apidhcpd.dhcp4 import relay as relays
from apidhcpd.dhcp4.message import ZERO as ZERO  # its home is message.py; imported from here too
from apidhcpd.dhcp4.message import Message
from apidhcpd.dhcp4.profile import Link, Profile
from apidhcpd.store.contract import AddressSource, Facts, Intent, Lease, Lookup


class ChainStore(Protocol):
    """A store as the handler steps hold it: the IStore calls they make (store/contract.py;
    zope interfaces mean nothing to mypy, so the calls are spelled out here)."""

    def lookup(self, host_keys: Sequence[str], now: int, selector: str,
               intent: Intent | None = None) -> Awaitable[Lookup]: ...

    def lease_of(self, mac: str, now: int) -> Awaitable[Lease | None]: ...

    def offer(self, mac: str, source: AddressSource, requested: str | None, now: int,
              hold: int) -> Awaitable[str | None]: ...

    def commit(self, mac: str, ip: str, source: AddressSource, lease_time: int, now: int,
               relay: bytes = b"", state: str = "", client: str = "") -> Awaitable[Lease]: ...

    def lease_holder(self, ip: str, now: int) -> Awaitable[str | None]: ...

    def release(self, mac: str, ip: str, now: int) -> Awaitable[bool]: ...

    def decline(self, mac: str, ip: str, now: int, probation: int) -> Awaitable[bool]: ...

    def release_offer(self, mac: str, keep: str = "") -> Awaitable[object]: ...


class Drop(Exception):
    """Stop without answering; the reason is logged (and counted under `kind` if given)."""

    def __init__(self, reason: str, kind: str = ""):
        super().__init__(reason)
        self.kind = kind


class Nak(Exception):
    """Answer DHCPNAK; the reason is logged and sent as option 56."""


@attr.s(frozen=True)
class Policy:
    """The server's settings that handlers consult."""

    server_id: str = attr.ib()
    authoritative: bool = attr.ib(default=False)
    offer_hold: int = attr.ib(default=60)
    decline_probation: int = attr.ib(default=86400)
    trusted_relays: frozenset[str] | None = attr.ib(default=None)  # None: any relay

    def our_id(self, tx: "Transaction") -> str:
        """Option 54 as the client must see it: the relay's RFC 5107 override if it sent one."""
        return tx.relay.server_id_override or self.server_id


@attr.s
class Transaction:
    """One request on its way through the chain, and what the chain decided."""

    request: Message = attr.ib()
    link: Link = attr.ib()
    now: int = attr.ib()
    lookup: Lookup | None = attr.ib(default=None)
    profile: Profile | None = attr.ib(default=None)
    reply_type: int | None = attr.ib(default=None)
    address: str | None = attr.ib(default=None)  # the client's address (yiaddr)
    lease_time: int | None = attr.ib(default=None)
    reply: Message | None = attr.ib(default=None)
    state: str = attr.ib(default="")  # SELECTING, INIT-REBOOT, RENEWING/REBINDING
    relay: relays.RelayInfo = attr.ib(default=None)
    selector: str = attr.ib(default="")  # the address that names the client's subnet

    wanted: str | None = attr.ib(default=None)  # the address a REQUEST asks for

    def __attrs_post_init__(self) -> None:
        if self.relay is None:
            self.relay = relays.relay_info(self.request)
        if not self.selector:
            self.selector = relays.selector(self.request, self.relay, self.link.address)
        if self.request.message_type == opt.REQUEST:
            self.state, self.wanted = request_state(self.request)

    @property
    def mac(self) -> str:
        return self.request.mac

    @functools.cached_property
    def facts(self) -> Facts:
        """What the request says about its client, as client classes match it."""
        return client_classes.facts(self.request, self.relay)


def request_state(request: Message) -> tuple[str, str | None]:
    """RFC 2131 4.3.2: the client's state and the address it asks for. SELECTING names a
    server (option 54); RENEWING (and REBINDING: the same rules here) has ciaddr;
    INIT-REBOOT asks for option 50 without naming a server."""
    if request.server_id is not None:
        return "SELECTING", request.requested_ip
    if request.ciaddr != ZERO:
        return "RENEWING", request.ciaddr
    return "INIT-REBOOT", request.requested_ip
