"""The network interface DHCPv6 is served on: its index, MAC, link-local and global
addresses, and the UDP socket on [::]:547 bound to it, joined to ff02::1:2 there.

Knows Linux: /proc/net/if_inet6 (the addresses of the calling process's network namespace),
the SIOCGIFHWADDR ioctl, and the socket options (SO_BINDTODEVICE, IPV6_JOIN_GROUP,
IPV6_RECVPKTINFO, which tells port.py where each datagram was sent). Knows nothing of DHCP
messages.
"""

import fcntl
import ipaddress
import socket
import struct

import attr

SERVER_PORT = 547
CLIENT_PORT = 546
ALL_RELAY_AGENTS_AND_SERVERS = "ff02::1:2"
SIOCGIFHWADDR = 0x8927
ARPHRD_ETHER = 1
IF_INET6 = "/proc/net/if_inet6"
SCOPE_GLOBAL, SCOPE_LINK = 0x00, 0x20
IFA_F_TENTATIVE, IFA_F_DADFAILED = 0x40, 0x08
SO_RCVBUFFORCE = 33
RECEIVE_BUFFER = 4 << 20  # a burst is queued rather than dropped (as DHCPv4's socket)


class InterfaceError(Exception):
    pass


@attr.s(frozen=True, slots=True)
class Addresses6:
    """What DHCPv6 needs to know of an interface."""

    name: str = attr.ib()
    index: int = attr.ib()
    mac: str | None = attr.ib()
    link_local: str | None = attr.ib()
    global_address: ipaddress.IPv6Interface | None = attr.ib()  # the first, with its prefix


def addresses_of(name: str, table: str | None = None) -> Addresses6:
    """The interface's index, MAC and its first link-local and global IPv6 addresses
    (tentative and failed ones left out); InterfaceError if it does not exist. `table` is
    the text of /proc/net/if_inet6 (read here when not given)."""
    try:
        index = socket.if_nametoindex(name)
    except OSError as e:
        raise InterfaceError("interface %s does not exist" % name) from e
    if table is None:
        try:
            with open(IF_INET6) as f:
                table = f.read()
        except OSError:
            table = ""  # IPv6 is off in this kernel
    link_local, global_address = None, None
    for line in table.splitlines():
        fields = line.split()
        if len(fields) != 6 or fields[5] != name:
            continue
        address = ipaddress.IPv6Address(bytes.fromhex(fields[0]))
        length, scope, flags = (int(fields[i], 16) for i in (2, 3, 4))
        if flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED):
            continue
        if scope == SCOPE_LINK and link_local is None:
            link_local = str(address)
        elif scope == SCOPE_GLOBAL and global_address is None:
            global_address = ipaddress.IPv6Interface((address, length))
    return Addresses6(name, index, mac_of(name), link_local, global_address)


def mac_of(name: str) -> str | None:
    """The interface's Ethernet address, or None (a tunnel, a loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            raw = fcntl.ioctl(sock.fileno(), SIOCGIFHWADDR,
                              struct.pack("16s16s", name.encode()[:15], b""))
        except OSError:
            return None
    family = struct.unpack_from("H", raw, 16)[0]
    mac = raw[18:24]
    if family != ARPHRD_ETHER or mac == bytes(6):
        return None
    return mac.hex(":")


def dhcp6_socket(name: str, index: int, port: int = SERVER_PORT) -> socket.socket:
    """A non-blocking UDP socket on [::]:port bound to the interface (set before the bind,
    so other interfaces may hold the port too), IPv6 only, joined to ff02::1:2 on it,
    reporting each datagram's destination (IPV6_RECVPKTINFO)."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, name.encode())
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RECEIVE_BUFFER)  # as root
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        sock.bind(("::", port))
        group = socket.inet_pton(socket.AF_INET6, ALL_RELAY_AGENTS_AND_SERVERS)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
                        group + struct.pack("@I", index))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock
