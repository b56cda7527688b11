"""What the relay agents around a DHCPv6 message tell the server (RFC 8415 9, 19).

Knows the relay options the server acts on: the interface-id (18) and the RFC 4649
remote-id (37) of the relay nearest the client, the client's link-layer address (79, RFC
6939) that relay saw, the link-address that places the client on a network (the first one,
from the client outwards, that is not unspecified: a lightweight relay, RFC 6221, leaves it
::), and whether the outermost relay, the one that sent the datagram, asked for replies on
its own UDP port (135, RFC 8357). Pure: no I/O; knows nothing of keys or leases.
"""

from collections.abc import Sequence

import attr

from apidhcpd.dhcp6.message import RelayMessage

UNSPECIFIED = "::"


@attr.s(frozen=True, slots=True)
class RelayInfo6:
    interface_id: bytes | None = attr.ib(default=None)
    remote_id: bytes | None = attr.ib(default=None)  # without its enterprise number
    mac: str | None = attr.ib(default=None)  # option 79, an Ethernet address
    link_address: str | None = attr.ib(default=None)
    source_port: bool = attr.ib(default=False)  # the outermost relay's option 135


NONE = RelayInfo6()


def relay_info(relays: Sequence[RelayMessage]) -> RelayInfo6:
    """The relay information of a chain (outermost first, as message.unwrap gives it)."""
    if not relays:
        return NONE
    nearest = relays[-1]
    remote = nearest.remote_id
    link = next((r.link_address for r in reversed(relays)
                 if r.link_address != UNSPECIFIED), None)
    return RelayInfo6(interface_id=nearest.interface_id,
                      remote_id=None if remote is None else remote[1],
                      mac=nearest.mac, link_address=link,
                      source_port=relays[0].relay_source_port is not None)
