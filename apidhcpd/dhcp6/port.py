"""The DHCPv6 socket in the reactor: reads each datagram with its source and the address it
was sent to (IPV6_PKTINFO), which Twisted's UDP port does not tell, and writes replies.

Knows recvmsg and the in6_pktinfo layout; hands (data, source, destination) to a receiver
and knows nothing of DHCP. A reader of the reactor (IReadDescriptor), as a UDP port is.
"""

import errno
import socket
import struct
from collections.abc import Callable

from twisted.internet.interfaces import IReadDescriptor
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from apidhcpd.limits.clock import Clock

log = Logger()

Source = tuple[str, int, int, int]  # (address, port, flow info, scope id) as the socket gives it
Receiver = Callable[[bytes, Source, str | None], None]

MAX_SIZE = 65535
READS_PER_TURN = 256  # datagrams read in one go before the reactor gets a turn (as Twisted's)
_PKTINFO = struct.Struct("16sI")  # struct in6_pktinfo: the destination address, ifindex
_ANCILLARY = socket.CMSG_SPACE(_PKTINFO.size)
# errors of one datagram (an ICMP error a previous send caused): the next one may be fine
_TRANSIENT = frozenset((errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH,
                        errno.EMSGSIZE, errno.ENOBUFS))


def destination(ancillary: list[tuple[int, int, bytes]]) -> str | None:
    """The destination address in a datagram's ancillary data, or None."""
    for level, kind, data in ancillary:
        if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO \
                and len(data) >= _PKTINFO.size:
            return socket.inet_ntop(socket.AF_INET6, _PKTINFO.unpack_from(data)[0])
    return None


class _Reactor(Clock):
    """What is used of the reactor (its readers are IReadDescriptors: a Port6 here)."""

    def addReader(self, reader: "Port6") -> None: ...

    def removeReader(self, reader: "Port6") -> None: ...


@implementer(IReadDescriptor)
class Port6:
    """`sock` (a non-blocking AF_INET6 UDP socket with IPV6_RECVPKTINFO) in `reactor`:
    every datagram goes to `receiver(data, source, destination)`."""

    def __init__(self, sock: socket.socket, receiver: Receiver, reactor: _Reactor):
        self.socket = sock
        self.receiver = receiver
        self.reactor = reactor
        self.reading = False

    def startReading(self) -> None:
        if not self.reading:
            self.reading = True
            self.reactor.addReader(self)

    def stopListening(self) -> None:
        if self.reading:
            self.reading = False
            self.reactor.removeReader(self)
        self.socket.close()

    def fileno(self) -> int:
        return self.socket.fileno()

    def logPrefix(self) -> str:
        return "DHCPv6"

    def doRead(self) -> None:
        for _ in range(READS_PER_TURN):
            try:
                data, ancillary, _, source = self.socket.recvmsg(MAX_SIZE, _ANCILLARY)
            except BlockingIOError:
                return
            except OSError as e:
                if e.errno in _TRANSIENT:
                    continue
                log.warn("DHCPv6 socket: {error}", error=e)  # keep reading: never lost
                return
            self.receiver(data, source, destination(ancillary))

    def connectionLost(self, reason: Failure) -> None:
        self.reading = False

    def sendto(self, data: bytes, address: Source) -> None:
        self.socket.sendto(data, address)
