"""Where a reply goes: the RFC 2131 section 4.1 destination rules, pure.

Knows BOOTP addressing (relay, ciaddr, broadcast flag, unicast to yiaddr at chaddr), which
giaddr a reply may go to, and when the RFC 8357 relay source port is to be used; knows
nothing of sockets. protocol.py carries out the decision.
"""

import ipaddress
import socket

import attr

from apidhcpd.dhcp4 import options as opt
from apidhcpd.dhcp4.message import ZERO as ZERO  # protocol.py reads it here
from apidhcpd.dhcp4.message import Message

BROADCAST = "255.255.255.255"
SERVER_PORT = 67
CLIENT_PORT = 68
# giaddr's first number where no relay can be: 0/8, 127/8, 224/4 (multicast), 240/4 (which
# holds 255.255.255.255)
NOT_A_RELAY = frozenset(["0", "127"] + [str(n) for n in range(224, 256)])


def is_relay_address(giaddr: str, ours: frozenset[str]) -> bool:
    """May a reply go to `giaddr` (dotted, as decoded)? Only to a unicast address that is not
    loopback and not in `ours` (the server's own addresses, its link's network and broadcast
    addresses): a reply is never broadcast, multicast or sent to ourselves."""
    return giaddr[:giaddr.index(".")] not in NOT_A_RELAY and giaddr not in ours


def on_link(address: str, network: ipaddress.IPv4Network) -> bool:
    """Is `address` (dotted) on `network`?"""
    value = int.from_bytes(socket.inet_aton(address), "big")
    return value & int(network.netmask) == int(network.network_address)


def relay_port(giaddr: str, source: tuple[str, int], trusted: frozenset[str],
               asked: bool) -> int:
    """The relay's port: its source port (RFC 8357) when it `asked` and the datagram came
    from giaddr itself (`source` is (ip, port)) or giaddr is `trusted`; else 67, so that a
    sender cannot aim a reply at another host's port."""
    if asked and (source[0] == giaddr or giaddr in trusted):
        return source[1]
    return SERVER_PORT


@attr.s(frozen=True, slots=True)
class Destination:
    ip: str = attr.ib()
    port: int = attr.ib()
    # "relay", "unicast" (ciaddr), "broadcast", or "hardware" (yiaddr at chaddr: needs an
    # ARP entry, since the client cannot answer ARP for an address it does not have yet)
    how: str = attr.ib()


def destination(request: Message, reply: Message,
                relay_port: int = SERVER_PORT) -> Destination:
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
