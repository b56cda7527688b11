"""The DHCPv6 protocol of one interface: datagram -> codec -> server -> datagram.

Knows where a reply goes (RFC 8415 19.3, RFC 8357): a relayed message's RELAY-REPL to the
address that sent it, on port 547, or on the port it came from when the outermost relay (the
one that sent the datagram) says so with option 135; a client's reply to the address it came
from, on port 546, on this interface. Nothing is ever sent to a multicast, unspecified or
loopback source. A datagram that does not decode is counted (`malformed`) and dropped; no
datagram makes it raise. Knows nothing of the rules for answering (server.py, handlers.py).
"""

import ipaddress
from typing import Protocol

from twisted.logger import Logger

from apidhcpd.dhcp6 import codec
from apidhcpd.dhcp6.interface import CLIENT_PORT, SERVER_PORT
from apidhcpd.dhcp6.message import Packet, RelayMessage
from apidhcpd.dhcp6.port import Source
from apidhcpd.dhcp6.server import DHCP6Server
from apidhcpd.dhcp6.transaction import Link6

log = Logger()


class Sender(Protocol):
    def sendto(self, data: bytes, address: Source) -> None: ...


class DHCP6Protocol:
    """Serves one interface (`link`) with a DHCP6Server (its counters are read too, and its
    drop log's allowance, may_log). `port` (port.Port6) is set when the socket is bound."""

    def __init__(self, server: DHCP6Server, link: Link6):
        self.server = server
        self.link = link
        self.port: Sender | None = None
        self.malformed = 0

    def received(self, data: bytes, source: Source, destination: str | None) -> None:
        """One datagram from `source`, sent to `destination` (None: not known)."""
        try:
            sender = ipaddress.IPv6Address(source[0].partition("%")[0])
        except (ValueError, IndexError, AttributeError):
            return self._drop("bad-source", "a datagram from {source}", source=source)
        if sender.is_multicast or sender.is_unspecified or sender.is_loopback:
            return self._drop("bad-source", "a datagram from {source}", source=source)
        try:
            packet = codec.decode(data)
        except codec.CodecError as e:
            self.malformed += 1
            if self.server.may_log("malformed"):
                log.info("dropped malformed DHCPv6 from {source}: {error}",
                         source="[%s]:%d" % source[:2], error=e)
            return
        unicast = destination is not None and not _multicast(destination)
        self.server.handle(packet, self.link, unicast).addCallback(self._send, packet, source)

    def _send(self, reply: Packet | None, request: Packet, source: Source) -> None:
        if reply is None or self.port is None:
            return
        if isinstance(reply, RelayMessage):
            asked = isinstance(request, RelayMessage) and request.relay_source_port is not None
            port = source[1] if asked else SERVER_PORT
        else:
            port = CLIENT_PORT
        try:
            data = codec.encode(reply)
        except codec.CodecError as e:
            return self._drop("unencodable", "reply to {source}: {error}", source=source,
                              error=e)
        try:
            self.port.sendto(data, (source[0], port, 0, source[3] or self.link.index))
        except OSError as e:
            if self.server.may_log("send-error"):
                log.warn("could not send to [{ip}]:{port}: {error}", ip=source[0], port=port,
                         error=e)

    def _drop(self, kind: str, message: str, **fields: object) -> None:
        self.server.counters.add(("dropped", kind))
        if self.server.may_log(kind):
            log.info("dropped: " + message, **fields)


def _multicast(address: str) -> bool:
    try:
        return ipaddress.IPv6Address(address).is_multicast
    except ValueError:
        return False
