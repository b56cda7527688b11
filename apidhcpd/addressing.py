"""Where a reply goes: the RFC 2131 section 4.1 destination rules, pure.

Knows BOOTP addressing (relay, ciaddr, broadcast flag, unicast to yiaddr at chaddr) and the
RFC 8357 relay source port; knows nothing of sockets. protocol.py carries out the decision.
"""

import attr

from apidhcpd import options as opt

ZERO = "0.0.0.0"
BROADCAST = "255.255.255.255"
SERVER_PORT = 67
CLIENT_PORT = 68


@attr.s(frozen=True, slots=True)
class Destination:
    ip: str = attr.ib()
    port: int = attr.ib()
    # "relay", "unicast" (ciaddr), "broadcast", or "hardware" (yiaddr at chaddr: needs an
    # ARP entry, since the client cannot answer ARP for an address it does not have yet)
    how: str = attr.ib()


def destination(request, reply, relay_port: int = SERVER_PORT) -> Destination:
    """RFC 2131 4.1: giaddr -> the relay; NAK -> broadcast; ciaddr -> unicast; broadcast
    bit -> broadcast; otherwise unicast to yiaddr at chaddr."""
    if request.giaddr != ZERO:
        return Destination(request.giaddr, relay_port, "relay")
    if reply.message_type == opt.NAK:
        return Destination(BROADCAST, CLIENT_PORT, "broadcast")
    if request.ciaddr != ZERO:
        return Destination(request.ciaddr, CLIENT_PORT, "unicast")
    if request.broadcast or reply.yiaddr == ZERO:
        return Destination(BROADCAST, CLIENT_PORT, "broadcast")
    return Destination(reply.yiaddr, CLIENT_PORT, "hardware")
