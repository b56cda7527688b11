"""DHCPv6 messages as values: a client/server Message and a RelayMessage wrapping another,
with typed accessors, the walk through a RELAY-FORW chain and the RELAY-REPL chain back,
and the skeleton of a reply (RFC 8415 7, 9, 18.3, 19.3).

Options are an ordered list of (code, bytes), repeats allowed (several IA_NA, several user
classes). Knows the catalogue (options.py), IAs (ia.py) and DUIDs (duid.py) for the
accessors; knows nothing about the wire format of a whole message (codec.py), sockets,
leases or the server's decisions.
"""

from collections.abc import Sequence
from typing import TypeVar, Union

import attr

from apidhcpd.dhcp6 import duid as duids
from apidhcpd.dhcp6.ia import IA, IA_NA, IA_PD, IA_TA
from apidhcpd.dhcp6.names import ClientFQDN
from apidhcpd.dhcp6.options import (
    MessageType,
    OptionCode,
    OptionValue,
    decode_option,
    encode_option,
)
from apidhcpd.dhcp6.values import (
    U16,
    CodeList,
    Enterprise,
    LinkLayer,
    OpaqueList,
    OptionError,
    RawOption,
    Status,
    StatusValue,
    ValueType,
    VendorClass,
    VendorOptions,
)

T = TypeVar("T")
C = OptionCode
_CLIENTID, _SERVERID = C.CLIENTID, C.SERVERID
_INTERFACE_ID, _ERO = C.INTERFACE_ID, C.ERO
HW_ETHERNET = duids.HW_ETHERNET


class _Options:
    """What both kinds of message do with their options list."""

    __slots__ = ()
    options: list[RawOption]

    def first(self, code: int) -> bytes | None:
        """The raw value of the first option `code`, or None."""
        for c, value in self.options:
            if c == code:
                return value
        return None

    def all(self, code: int) -> list[bytes]:
        """The raw values of every option `code`, in order."""
        return [value for c, value in self.options if c == code]

    def get(self, code: int) -> OptionValue | None:
        """The first option `code` decoded through the catalogue, or None if absent or
        malformed."""
        raw = self.first(code)
        if raw is None:
            return None
        try:
            return decode_option(code, raw)
        except OptionError:
            return None

    def typed(self, code: int, kind: ValueType[T]) -> T | None:
        """The first option `code` read as `kind`, or None if absent or malformed."""
        raw = self.first(code)
        if raw is None:
            return None
        try:
            return kind.decode(raw)
        except OptionError:
            return None

    def add_raw(self, code: int, raw: bytes) -> None:
        self.options.append((code, bytes(raw)))

    def add(self, code: int, value: object) -> None:
        """Append option code with value encoded by the catalogue (OptionError if bad)."""
        self.options.append((code, encode_option(code, value)))

    def set_raw(self, code: int, raw: bytes) -> None:
        """Option code holds raw, once: in place of the first instance, the others removed."""
        value = bytes(raw)
        out: list[RawOption] = []
        placed = False
        for c, v in self.options:
            if c != code:
                out.append((c, v))
            elif not placed:
                out.append((c, value))
                placed = True
        if not placed:
            out.append((code, value))
        self.options[:] = out

    def set(self, code: int, value: object) -> None:
        self.set_raw(code, encode_option(code, value))

    def remove(self, code: int) -> None:
        self.options[:] = [(c, v) for c, v in self.options if c != code]

    def __contains__(self, code: int) -> bool:
        return any(c == code for c, _ in self.options)


@attr.s(slots=True)
class Message(_Options):
    """A client/server message: msg-type, 24-bit transaction id, options."""

    msg_type: int = attr.ib()
    transaction_id: int = attr.ib(default=0)
    options: list[RawOption] = attr.ib(factory=list)

    # Identifiers.

    @property
    def client_id(self) -> bytes | None:
        return self.first(_CLIENTID)

    @property
    def server_id(self) -> bytes | None:
        return self.first(_SERVERID)

    @property
    def client_duid(self) -> duids.DUID | None:
        return _duid(self.first(_CLIENTID))

    @property
    def server_duid(self) -> duids.DUID | None:
        return _duid(self.first(_SERVERID))

    @property
    def mac(self) -> str | None:
        """The Ethernet address in the client's DUID (LLT or LL), or None."""
        found = self.client_duid
        return None if found is None else found.mac

    # Identity associations: the malformed ones are left out.

    def ias(self, code: int) -> list[IA]:
        out: list[IA] = []
        for raw in self.all(code):
            try:
                out.append(IA.decode(code, raw))
            except OptionError:
                continue
        return out

    @property
    def ias_na(self) -> list[IA]:
        return self.ias(IA_NA)

    @property
    def ias_ta(self) -> list[IA]:
        return self.ias(IA_TA)

    @property
    def ias_pd(self) -> list[IA]:
        return self.ias(IA_PD)

    def add_ia(self, ia: IA) -> None:
        self.options.append((ia.code, ia.encode()))

    # What the client says and asks.

    @property
    def oro(self) -> list[int] | None:
        """The option codes the client asked for (option 6)."""
        return self.typed(C.ORO, CodeList)

    @property
    def rapid_commit(self) -> bool:
        return C.RAPID_COMMIT in self

    @property
    def reconfigure_accept(self) -> bool:
        return C.RECONF_ACCEPT in self

    @property
    def elapsed_time(self) -> int | None:
        """Hundredths of a second since the client began this exchange (option 8)."""
        return self.typed(C.ELAPSED_TIME, U16)

    @property
    def user_classes(self) -> list[bytes]:
        """Every user class item of every option 15."""
        return [item for raw in self.all(C.USER_CLASS) for item in _or_empty(OpaqueList, raw)]

    @property
    def vendor_classes(self) -> list[tuple[int, list[bytes]]]:
        """(enterprise number, items) of every option 16."""
        return [v for v in (_or_none(VendorClass, raw) for raw in self.all(C.VENDOR_CLASS))
                if v is not None]

    @property
    def vendor_options(self) -> list[tuple[int, list[RawOption]]]:
        """(enterprise number, sub-options) of every option 17."""
        return [v for v in (_or_none(VendorOptions, raw) for raw in self.all(C.VENDOR_OPTS))
                if v is not None]

    @property
    def client_arch(self) -> list[int] | None:
        """The client's architecture types (option 61, RFC 5970)."""
        return self.typed(C.CLIENT_ARCH, CodeList)

    @property
    def client_fqdn(self) -> ClientFQDN | None:
        value = self.get(C.CLIENT_FQDN)
        return value if isinstance(value, ClientFQDN) else None

    @property
    def status(self) -> Status | None:
        """The message's own status code (option 13 at the top level)."""
        return self.typed(C.STATUS_CODE, StatusValue)


Packet = Union[Message, "RelayMessage"]


@attr.s(slots=True)
class RelayMessage(_Options):
    """A RELAY-FORW or RELAY-REPL: hop count, link and peer addresses (text), the relay's
    options without the relay message option (9), and the message that option carries."""

    msg_type: int = attr.ib()
    hop_count: int = attr.ib()
    link_address: str = attr.ib()
    peer_address: str = attr.ib()
    options: list[RawOption] = attr.ib()
    inner: Packet = attr.ib()

    @property
    def interface_id(self) -> bytes | None:
        return self.first(_INTERFACE_ID)

    @property
    def remote_id(self) -> tuple[int, bytes] | None:
        """(enterprise number, remote-id) of option 37 (RFC 4649)."""
        return self.typed(C.REMOTE_ID, Enterprise)

    @property
    def subscriber_id(self) -> bytes | None:
        return self.first(C.SUBSCRIBER_ID)

    @property
    def client_linklayer_addr(self) -> tuple[int, bytes] | None:
        """(link-layer type, address) of option 79 (RFC 6939)."""
        return self.typed(C.CLIENT_LINKLAYER_ADDR, LinkLayer)

    @property
    def mac(self) -> str | None:
        """The client's Ethernet address as option 79 gives it, or None."""
        found = self.client_linklayer_addr
        if found is None or found[0] != HW_ETHERNET or len(found[1]) != 6:
            return None
        return found[1].hex(":")

    @property
    def relay_source_port(self) -> int | None:
        """The relay's downstream source port (option 135, RFC 8357)."""
        return self.typed(C.RELAY_SOURCE_PORT, U16)

    @property
    def echo_request(self) -> list[int]:
        """The option codes the relay asks to have echoed (option 43, RFC 4994)."""
        return self.typed(_ERO, CodeList) or []


def _duid(raw: bytes | None) -> duids.DUID | None:
    if raw is None:
        return None
    try:
        return duids.parse(raw)
    except OptionError:
        return None


def _or_none(kind: ValueType[T], raw: bytes) -> T | None:
    try:
        return kind.decode(raw)
    except OptionError:
        return None


def _or_empty(kind: ValueType[list[bytes]], raw: bytes) -> list[bytes]:
    return _or_none(kind, raw) or []


def unwrap(packet: Packet) -> tuple[Message, list[RelayMessage]]:
    """The client's message and the relay messages around it, outermost first."""
    relays: list[RelayMessage] = []
    while isinstance(packet, RelayMessage):
        relays.append(packet)
        packet = packet.inner
    return packet, relays


def relay_reply(relays: Sequence[RelayMessage], reply: Message) -> Packet:
    """`reply` wrapped in a RELAY-REPL for each RELAY-FORW of `relays` (outermost first, as
    unwrap gives them): hop count, link and peer addresses copied, the interface-id
    echoed (RFC 8415 19.3), and the options each relay's echo request names (RFC 4994)."""
    packet: Packet = reply
    for forward in reversed(relays):
        echo = {_INTERFACE_ID, *forward.echo_request} - {C.RELAY_MSG}
        options = [(code, raw) for code, raw in forward.options if code in echo]
        packet = RelayMessage(MessageType.RELAY_REPL, forward.hop_count,
                              forward.link_address, forward.peer_address, options, packet)
    return packet


def reply_for(request: Message, msg_type: int, server_duid: bytes) -> Message:
    """A reply skeleton (ADVERTISE, REPLY) to request: its transaction id, then our server
    identifier and the client's identifier (RFC 8415 18.3: a server's reply carries both)."""
    options: list[RawOption] = [(_SERVERID, bytes(server_duid))]
    client = request.client_id
    if client is not None:
        options.insert(0, (_CLIENTID, client))
    return Message(msg_type, request.transaction_id, options)
