"""The DHCP DatagramProtocol: decode -> server -> addressing -> write.

Knows the socket side of the packet path; a packet that does not decode is dropped (and logged
a few times per period, with a count of the lines left out). Knows nothing of the rules for answering (server.py, handlers.py).
"""

from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger

from apidhcpd import addressing, codec, interface
from apidhcpd.relay import relay_info
from apidhcpd.server import log_left_out

log = Logger()


class DHCPProtocol(DatagramProtocol):
    """Serves one interface (`link`) with a DHCPServer."""

    noisy = False

    def __init__(self, server, link, ifname=None, relayed_only=False):
        self.server = server
        self.link = link
        self.ifname = ifname
        self.relayed_only = relayed_only  # a worker: the local link is the first process's
        self.malformed = 0

    def datagramReceived(self, data, addr):
        try:
            request = codec.decode(data)
        except codec.CodecError as e:
            self.malformed += 1
            if self._may_log("malformed"):
                log.info("dropped malformed packet from {source}: {error}",
                         source="%s:%d" % addr, error=e)
            return
        if self.relayed_only and request.giaddr == addressing.ZERO:
            return
        self.server.handle(request, self.link).addCallback(self._send, request, addr[1])

    def _send(self, reply, request, source_port):
        if reply is None or self.transport is None:
            return
        relay_port = addressing.SERVER_PORT
        if request.giaddr != addressing.ZERO and relay_info(request).source_port:
            relay_port = source_port  # RFC 8357: the relay listens where it sent from
        dest = addressing.destination(request, reply, relay_port)
        if dest.how == "hardware" and not self._learn(request, reply):
            dest = addressing.Destination(addressing.BROADCAST, dest.port, "broadcast")
        data = codec.encode(reply, max_size=request.max_message_size or 576)
        try:  # straight to the socket: Port.write parses the address again on every call
            self.transport.socket.sendto(data, (dest.ip, dest.port))
        except OSError as e:
            if self._may_log("send-error"):
                log.warn("could not send to {dest}: {error}", dest=dest, error=e)

    def _learn(self, request, reply) -> bool:
        """An ARP entry for yiaddr at chaddr; False where that is impossible."""
        if self.ifname is None or request.htype != 1 or request.hlen != 6:
            return False
        try:
            interface.add_arp_entry(self.transport.socket, self.ifname, reply.yiaddr,
                                    request.chaddr[:6])
        except OSError as e:
            log.debug("no ARP entry for {ip}: {error}", ip=reply.yiaddr, error=e)
            return False
        return True

    def _may_log(self, kind) -> bool:
        limiter = self.server.drop_log
        left_out = limiter.allow(kind)
        if left_out:
            log_left_out(limiter, kind, left_out)
        return left_out is not None
