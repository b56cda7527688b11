"""The DHCP DatagramProtocol: decode -> server -> addressing -> write.

Knows the socket side of the packet path, and what a datagram may make the server send:
a packet that does not decode is dropped; a giaddr that is no relay's unicast address (a
broadcast, multicast, loopback or our own address) is dropped, as is a request whose option
82 echo cannot fit the reply, before any store work; a unicast on our own link goes only to an
address that sent the request (a local client's ciaddr, an on-link relay's giaddr): a reply to
an address nobody answers ARP for waits in the kernel, charged to our socket, and enough of
them fill its send buffer for every reply; the RFC 8357 relay port is used only for
a relay that sent the request itself (or a trusted one); a reply is never larger than the
request allows (a BOOTP reply: than the request itself), never unicast at a broadcast or
multicast chaddr. Drops are counted under their kind and logged a few times per period.
Knows nothing of the rules for answering (server.py, handlers.py).
"""

import socket
from typing import Protocol

from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger

from apidhcpd.dhcp4 import addressing, codec, interface
from apidhcpd.dhcp4.message import Message
from apidhcpd.dhcp4.profile import Link
from apidhcpd.dhcp4.relay import relay_info
from apidhcpd.dhcp4.server import DHCPServer

log = Logger()

ZERO_MAC = bytes(6)
SHORT_82 = 255  # an option 82 this long fits any reply with 53 and 54 in 576 bytes


Address = tuple[str, int]  # (ip, port), as the reactor gives a datagram's source


class _SocketTransport(Protocol):
    """What is used of the UDP transport (a Port): its socket."""

    socket: socket.socket


class DHCPProtocol(DatagramProtocol):
    """Serves one interface (`link`) with a DHCPServer (its policy, clock and counters
    are read too, and its drop log's allowance, may_log)."""

    noisy = False

    def __init__(self, server: DHCPServer, link: Link, ifname: str | None = None,
                 relayed_only: bool = False):
        self.server = server
        self.link = link
        self.ifname = ifname
        self.relayed_only = relayed_only  # a worker: the local link is the first process's
        self.trusted = server.policy.trusted_relays or frozenset()
        network = link.network
        ours = {server.policy.server_id, link.address}
        if network.prefixlen < 31:  # on a /31 both addresses are hosts (RFC 3021)
            ours.update((str(network.network_address), str(network.broadcast_address)))
        self.ours = frozenset(ours)
        self.malformed = 0

    def datagramReceived(self, data: bytes, addr: Address) -> None:
        try:
            request = codec.decode(data)
        except codec.CodecError as e:
            self.malformed += 1
            if self.server.may_log("malformed"):
                log.info("dropped malformed packet from {source}: {error}",
                         source="%s:%d" % addr, error=e)
            return
        giaddr = request.giaddr
        if giaddr == addressing.ZERO:
            if self.relayed_only:
                return
            if request.ciaddr != addressing.ZERO and request.ciaddr != addr[0]:
                return self._drop("forged-ciaddr", "ciaddr {ciaddr} did not send the request "
                                  "from {source}", ciaddr=request.ciaddr,
                                  source="%s:%d" % addr)
        elif not addressing.is_relay_address(giaddr, self.ours):
            return self._drop("bad-giaddr", "giaddr {giaddr} is no relay's address, from "
                              "{source}", giaddr=giaddr, source="%s:%d" % addr)
        elif giaddr != addr[0] and giaddr not in self.trusted \
                and addressing.on_link(giaddr, self.link.network):
            return self._drop("forged-giaddr", "giaddr {giaddr} on our link did not send the "
                              "request from {source}", giaddr=giaddr, source="%s:%d" % addr)
        else:
            echo = request.relay_agent_info
            if echo is not None and len(echo) > SHORT_82 and not echo_fits(request, echo):
                return self._drop("oversized-reply", "option 82 of {size} bytes from {source} "
                                  "does not fit the reply", size=len(echo),
                                  source="%s:%d" % addr)
        self.server.handle(request, self.link).addCallback(self._send, request, addr, len(data))

    def _send(self, reply: Message | None, request: Message, source: Address,
              size: int = codec.MIN_PACKET_SIZE) -> None:
        transport: _SocketTransport | None = self.transport
        if reply is None or transport is None:
            return
        dest = addressing.destination(request, reply, self._relay_port(request, source))
        if dest.how == "hardware" and not self._learn(transport.socket, request, reply):
            dest = addressing.Destination(addressing.BROADCAST, dest.port, "broadcast")
        limit = codec.payload_limit(request.max_message_size)
        if request.bootp and request.max_message_size is None:
            limit = codec.bootp_limit(size)
        data = codec.encode(reply, max_size=request.max_message_size, limit=limit)
        # what the chain let through is checked, not trusted
        if len(data) > limit:
            return self._drop("oversized-reply", "reply of {size} bytes to {dest} is over "
                              "the limit", size=len(data), dest=dest)
        try:  # straight to the socket: Port.write parses the address again on every call
            transport.socket.sendto(data, (dest.ip, dest.port))
        except OSError as e:
            if self.server.may_log("send-error"):
                log.warn("could not send to {dest}: {error}", dest=dest, error=e)

    def _relay_port(self, request: Message, source: Address) -> int:
        if request.giaddr == addressing.ZERO or request.relay_agent_info is None:
            return addressing.SERVER_PORT
        return addressing.relay_port(request.giaddr, source, self.trusted,
                                     relay_info(request).source_port)

    def _learn(self, sock: socket.socket, request: Message, reply: Message) -> bool:
        """An ARP entry for yiaddr at chaddr; False where that is impossible or would send a
        unicast to a broadcast or multicast hardware address (the group bit)."""
        if self.ifname is None or request.htype != 1 or request.hlen != 6 \
                or request.chaddr[0] & 1 or request.chaddr[:6] == ZERO_MAC:
            return False
        try:
            interface.add_arp_entry(sock, self.ifname, reply.yiaddr,
                                    request.chaddr[:6])
        except OSError as e:
            log.debug("no ARP entry for {ip}: {error}", ip=reply.yiaddr, error=e)
            return False
        return True

    def _drop(self, kind: str, message: str, **fields: object) -> None:
        self.server.counters.add(("dropped", kind))
        if self.server.may_log(kind):
            log.info("dropped: " + message, **fields)


def echo_fits(request: Message, echo: bytes) -> bool:
    """Does a reply with options 53, 54 and the echo of `echo` (option 82, never left out)
    fit in what the request's option 57 (or the 576 bytes every client takes) allows?"""
    encoded = len(echo) + 2 * -(-len(echo) // 255)  # RFC 3396: split in 255-byte parts
    return codec.HEADER_SIZE + 3 + 6 + encoded + 1 <= codec.payload_limit(
        request.max_message_size)
