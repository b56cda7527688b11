"""The network interface the server serves: its address and netmask, the socket options that
bind a UDP socket to it, and ARP entries for replies to clients that have no address yet.

Knows Linux ioctls and socket options; knows nothing of DHCP messages.
"""

import ctypes
import fcntl
import ipaddress
import socket
import struct

ZERO = "0.0.0.0"  # any address
SIOCGIFADDR = 0x8915
SIOCGIFNETMASK = 0x891B
SIOCSARP = 0x8955
ATF_COM = 0x02
ARPHRD_ETHER = 1


class InterfaceError(Exception):
    pass


def _ifreq(name: str) -> bytes:
    encoded = name.encode()
    if not encoded or len(encoded) > 15:
        raise InterfaceError("bad interface name %r" % name)
    return struct.pack("16s16s", encoded, b"")


def address_of(name: str) -> ipaddress.IPv4Interface:
    """The interface's first IPv4 address with its prefix, e.g. 192.0.2.1/24; InterfaceError
    (one line, naming the interface) if it has none or does not exist."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            addr = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, _ifreq(name))[20:24]
            mask = fcntl.ioctl(sock.fileno(), SIOCGIFNETMASK, _ifreq(name))[20:24]
        except OSError as e:
            raise InterfaceError("interface %s has no usable IPv4 address (%s)"
                                 % (name, e.strerror)) from e
    return ipaddress.IPv4Interface("%s/%s" % (socket.inet_ntoa(addr), socket.inet_ntoa(mask)))


SO_RCVBUFFORCE = 33
RECEIVE_BUFFER = 4 << 20  # ~10,000 requests: a burst, or a pause of the process, is queued


def bind_to_device(sock: socket.socket, name: str) -> None:
    """Receive and send only on this interface (SO_BINDTODEVICE), broadcasts allowed, with a
    receive buffer large enough to queue a burst rather than drop it (the default, ~200 kB,
    holds a few hundred requests). Without CAP_NET_ADMIN the buffer stops at rmem_max."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, name.encode())
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RECEIVE_BUFFER)  # root: past rmem_max
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)


def add_arp_entry(sock: socket.socket, name: str, ip: str, mac: bytes) -> None:
    """Tell the kernel that ip is at mac on this interface, so a unicast to a client that has
    not configured its address yet reaches it without an ARP exchange (as dnsmasq does)."""
    protocol_address = struct.pack("=H2s4s8s", socket.AF_INET, b"", socket.inet_aton(ip), b"")
    hardware_address = struct.pack("=H14s", ARPHRD_ETHER, mac[:6])
    netmask = struct.pack("16s", b"")
    request = protocol_address + hardware_address + struct.pack("=i", ATF_COM) + netmask + \
        struct.pack("16s", name.encode())
    fcntl.ioctl(sock.fileno(), SIOCSARP, request)


SO_ATTACH_REUSEPORT_CBPF = 51
GIADDR, CHADDR_TAIL = 24, 30  # offsets in the DHCP message: giaddr, chaddr's last 4 bytes


def dhcp_socket(name: str, port: int, reuseport: bool = False) -> socket.socket:
    """A non-blocking UDP socket on 0.0.0.0:port bound to the interface. The device is set
    before the bind, so sockets on other interfaces may hold the same port (several
    interfaces, or processes, on one host); `reuseport` joins an SO_REUSEPORT group that
    several worker processes share."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        if reuseport:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        bind_to_device(sock, name)
        sock.bind((ZERO, port))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def spread_by_chaddr(sock: socket.socket, workers: int) -> None:
    """Attach a classic BPF program to the SO_REUSEPORT group: a relayed datagram goes to
    socket number (chaddr's last four bytes) mod `workers`, one from the local link (giaddr 0)
    to socket 0, the first bound. Relayed traffic comes from one address per relay, so the
    kernel's own hash of the addresses would send it all to one worker; chaddr spreads it and
    keeps each client on one worker. (Broadcasts skip this program and reach every socket, so
    the other workers ignore the local link: see DHCPProtocol.relayed_only.)"""
    program = [(0x20, 0, 0, GIADDR),       # A = giaddr (offsets count from the UDP payload)
               (0x15, 3, 0, 0),            # if A == 0: go to "return 0"
               (0x20, 0, 0, CHADDR_TAIL),  # A = chaddr's last four bytes
               (0x94, 0, 0, workers),      # A = A mod workers
               (0x16, 0, 0, 0),            # return A
               (0x06, 0, 0, 0)]            # return 0
    code = b"".join(struct.pack("=HBBI", *insn) for insn in program)
    buffer = ctypes.create_string_buffer(code)
    fprog = struct.pack("=HxxxxxxQ", len(program), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, fprog)
