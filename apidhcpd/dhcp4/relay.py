"""What a relay agent tells the server, and where a request belongs.

Knows option 82's sub-options (RFC 3046 circuit-id and remote-id, RFC 3527 link selection,
RFC 5107 server identifier override, RFC 8357 relay source port) and option 118 (RFC 3011),
and the order in which they place a request on a subnet. Both are a relay's word: in a request
that came through no relay (giaddr 0) a client wrote them, and they count for nothing
(RFC 3046 2.1). Pure: no I/O.
"""

import socket
from enum import IntEnum

import attr

from apidhcpd.dhcp4 import options as opt
from apidhcpd.dhcp4.message import ZERO, Message
from apidhcpd.store import keys


class SubOption(IntEnum):
    """The sub-options of option 82 that the server reads."""

    CIRCUIT_ID = 1  # RFC 3046
    REMOTE_ID = 2  # RFC 3046
    LINK_SELECTION = 5  # RFC 3527
    SERVER_ID_OVERRIDE = 11  # RFC 5107
    RELAY_SOURCE_PORT = 19  # RFC 8357

    __str__ = int.__repr__


SUBNET_SELECTION = opt.OptionCode.SUBNET_SELECTION


@attr.s(frozen=True, slots=True)
class RelayInfo:
    circuit_id: bytes | None = attr.ib(default=None)
    remote_id: bytes | None = attr.ib(default=None)
    link_selection: str | None = attr.ib(default=None)
    server_id_override: str | None = attr.ib(default=None)
    source_port: bool = attr.ib(default=False)  # RFC 8357: answer to the relay's UDP port


NONE = RelayInfo()


def relay_info(request: Message) -> RelayInfo:
    """The sub-options of option 82 that the server acts on: none in a request that came
    through no relay, nor from an unreadable 82."""
    raw = request.relay_agent_info
    if raw is None or request.giaddr == ZERO:
        return NONE
    try:
        subs = dict(opt.RelayAgentInfo.decode(raw))
    except opt.OptionError:
        return NONE
    return RelayInfo(circuit_id=subs.get(SubOption.CIRCUIT_ID),
                     remote_id=subs.get(SubOption.REMOTE_ID),
                     link_selection=_address(subs.get(SubOption.LINK_SELECTION)),
                     server_id_override=_address(subs.get(SubOption.SERVER_ID_OVERRIDE)),
                     source_port=SubOption.RELAY_SOURCE_PORT in subs)


def _address(raw: bytes | None) -> str | None:
    return socket.inet_ntoa(raw) if raw is not None and len(raw) == 4 else None


def selector(request: Message, info: RelayInfo, link_address: str) -> str:
    """The address that names the client's subnet: RFC 3527 link selection, then option 118
    (RFC 3011; from a relay only), then giaddr, then ciaddr (a renewing client), then the
    receiving interface."""
    if info.link_selection:
        return info.link_selection
    if request.giaddr != ZERO:
        return request.typed(SUBNET_SELECTION, opt.IP) or request.giaddr
    if request.ciaddr != ZERO:
        return request.ciaddr
    return link_address


id_key = keys.id_text  # a circuit-id or remote-id as written in a Redis key
