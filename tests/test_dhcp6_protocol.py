"""The DHCPv6 socket side: where replies go (DHCP6Protocol), how datagrams are read with their
destination (port.Port6 over a scripted socket), and what is read of an interface."""

import errno
import socket
import struct

from twisted.trial import unittest

from apidhcpd.dhcp6 import codec, interface, port
from apidhcpd.dhcp6.message import Message, RelayMessage
from apidhcpd.dhcp6.options import MessageType as T
from apidhcpd.dhcp6.options import OptionCode as C
from apidhcpd.dhcp6.options import StatusCode as S
from apidhcpd.dhcp6.protocol import DHCP6Protocol
from tests.dhcp6util import LINK, SERVER_DUID, Rig, message, na, relayed

CLIENT_SOURCE = ("fe80::1:1", 546, 0, 2)
RELAY_SOURCE = ("2001:db8:2::1", 547, 0, 0)


class Sent:
    def __init__(self):
        self.datagrams = []
        self.error = None

    def sendto(self, data, address):
        if self.error:
            raise self.error
        self.datagrams.append((codec.decode(data), address))


class ProtocolTests(unittest.TestCase):
    def setUp(self):
        self.rig = Rig(self)
        self.protocol = DHCP6Protocol(self.rig.server, LINK)
        self.protocol.port = self.sent = Sent()

    def receive(self, packet, source=CLIENT_SOURCE, destination="ff02::1:2"):
        data = packet if isinstance(packet, bytes) else codec.encode(packet)
        self.protocol.received(data, source, destination)
        self.rig.clock.advance(0)
        return self.sent.datagrams

    def test_a_client_is_answered_on_port_546_of_its_address_on_this_link(self):
        [(reply, address)] = self.receive(message(T.SOLICIT, na(1)))
        self.assertEqual(reply.msg_type, T.ADVERTISE)
        self.assertEqual(address, ("fe80::1:1", 546, 0, 2))

    def test_without_a_scope_the_link_index_is_used(self):
        [(_, address)] = self.receive(message(T.SOLICIT, na(1)),
                                      source=("fe80::1:1", 546, 0, 0))
        self.assertEqual(address[3], LINK.index)

    def test_a_relay_is_answered_on_547_whatever_its_source_port(self):
        [(reply, address)] = self.receive(relayed(message(T.SOLICIT, na(1))),
                                          source=("2001:db8:2::1", 40000, 0, 0))
        self.assertIsInstance(reply, RelayMessage)
        self.assertEqual(address[:2], ("2001:db8:2::1", 547))

    def test_the_outermost_relays_source_port_option_is_honoured(self):
        port_option = [(C.RELAY_SOURCE_PORT, b"\x00\x00")]
        [(_, address)] = self.receive(relayed(message(T.SOLICIT, na(1)), options=port_option),
                                      source=("2001:db8:2::1", 40000, 0, 0))
        self.assertEqual(address[:2], ("2001:db8:2::1", 40000))

    def test_an_inner_relays_source_port_option_is_not(self):
        inner = relayed(message(T.SOLICIT, na(1)), link_address="::",
                        options=[(C.RELAY_SOURCE_PORT, b"\x00\x00")])
        [(_, address)] = self.receive(relayed(inner, hops=1),
                                      source=("2001:db8:2::1", 40000, 0, 0))
        self.assertEqual(address[1], 547)

    def test_unicast_gets_use_multicast_multicast_does_not(self):
        request = message(T.REQUEST, na(1), server=SERVER_DUID)
        [(reply, _)] = self.receive(request, destination="2001:db8:1::1")
        self.assertEqual(reply.status.code, S.UseMulticast)
        self.receive(request, destination="ff02::1:2")
        self.assertIsNone(self.sent.datagrams[1][0].status)
        self.receive(request, destination=None)  # not known: taken as multicast
        self.assertIsNone(self.sent.datagrams[2][0].status)

    def test_malformed_is_counted_and_dropped(self):
        for data in (b"", b"\x01\x00", b"\x01\x00\x00\x01\x00\x01\x00\x09abc",
                     b"\x0c" + bytes(33)):
            self.assertEqual(self.receive(data), [])
        self.assertEqual(self.protocol.malformed, 4)

    def test_nothing_goes_to_a_multicast_unspecified_or_bad_source(self):
        for source in (("ff02::1", 546, 0, 2), ("::", 546, 0, 2), ("::1", 546, 0, 1),
                       ("garbage", 546, 0, 0), ()):
            self.assertEqual(self.receive(message(T.SOLICIT, na(1)), source=source), [])
        self.assertEqual(self.rig.server.counters[("dropped", "bad-source")], 5)
        self.assertEqual(self.rig.store.calls, [])

    def test_a_send_error_is_logged_not_raised(self):
        self.sent.error = OSError(errno.ENETUNREACH, "unreachable")
        self.receive(message(T.SOLICIT, na(1)))
        self.assertEqual(len(self.flushLoggedErrors()), 0)

    def test_no_port_no_send(self):
        self.protocol.port = None
        self.protocol.received(codec.encode(message(T.SOLICIT, na(1))), CLIENT_SOURCE, None)
        self.rig.clock.advance(0)
        self.assertEqual(self.sent.datagrams, [])


def pktinfo(address):
    return (socket.IPPROTO_IPV6, socket.IPV6_PKTINFO,
            struct.pack("16sI", socket.inet_pton(socket.AF_INET6, address), 2))


class ScriptedSocket:
    def __init__(self, *results):
        self.results = list(results)
        self.closed = False

    def recvmsg(self, size, ancillary_size):
        result = self.results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    def fileno(self):
        return 99

    def close(self):
        self.closed = True


class FakeReactor:
    def __init__(self):
        self.readers = []

    def addReader(self, reader):
        self.readers.append(reader)

    def removeReader(self, reader):
        self.readers.remove(reader)


class PortTests(unittest.TestCase):
    def test_each_datagram_with_source_and_destination_until_it_would_block(self):
        got = []
        sock = ScriptedSocket(
            (b"one", [pktinfo("ff02::1:2")], 0, CLIENT_SOURCE),
            OSError(errno.ECONNREFUSED, "refused"),  # an earlier send's ICMP error
            (b"two", [], 0, RELAY_SOURCE),
            BlockingIOError())
        reactor = FakeReactor()
        reader = port.Port6(sock, lambda *args: got.append(args), reactor)
        reader.startReading()
        reader.startReading()
        self.assertEqual(reactor.readers, [reader])
        reader.doRead()
        self.assertEqual(got, [(b"one", CLIENT_SOURCE, "ff02::1:2"),
                               (b"two", RELAY_SOURCE, None)])
        reader.stopListening()
        self.assertEqual((reactor.readers, sock.closed), ([], True))

    def test_an_unexpected_socket_error_stops_this_turn_only(self):
        got = []
        sock = ScriptedSocket(OSError(errno.EBADF, "bad"), (b"x", [], 0, CLIENT_SOURCE),
                              BlockingIOError())
        reader = port.Port6(sock, lambda *args: got.append(args), FakeReactor())
        reader.doRead()
        reader.doRead()
        self.assertEqual(got, [(b"x", CLIENT_SOURCE, None)])

    def test_destination_reads_only_pktinfo(self):
        self.assertEqual(port.destination([pktinfo("2001:db8::1")]), "2001:db8::1")
        self.assertIsNone(port.destination([(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO,
                                             b"\x00" * 4)]))
        self.assertIsNone(port.destination([(socket.SOL_SOCKET, 1, bytes(20))]))


class InterfaceTests(unittest.TestCase):
    TABLE = ("00000000000000000000000000000001 01 80 10 80       lo\n"
             "20010db8000100000000000000000099 01 40 00 c0       lo\n"  # tentative
             "fe800000000000000000000000000001 01 40 20 80       lo\n"
             "20010db8000100000000000000000001 01 40 00 80       lo\n"
             "20010db8000000020000000000000001 05 40 00 80     eth9\n")

    def test_first_link_local_and_global_address_not_tentative(self):
        found = interface.addresses_of("lo", self.TABLE)
        self.assertEqual((found.index, found.link_local, str(found.global_address)),
                         (socket.if_nametoindex("lo"), "fe80::1", "2001:db8:1::1/64"))
        self.assertIsNone(found.mac)  # a loopback has no Ethernet address

    def test_no_ipv6_no_addresses(self):
        found = interface.addresses_of("lo", "")
        self.assertEqual((found.link_local, found.global_address), (None, None))

    def test_an_unknown_interface_is_one_line(self):
        e = self.assertRaises(interface.InterfaceError, interface.addresses_of, "nope0", "")
        self.assertIn("interface nope0 does not exist", str(e))
        self.assertNotIn("\n", str(e))

    def test_the_socket_is_the_interfaces_and_reports_destinations(self):
        try:
            sock = interface.dhcp6_socket("lo", socket.if_nametoindex("lo"), 0)
        except PermissionError as e:
            raise unittest.SkipTest("SO_BINDTODEVICE needs CAP_NET_RAW: %s" % e) from None
        self.addCleanup(sock.close)
        self.assertEqual(sock.getsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, 16)
                         .rstrip(b"\0"), b"lo")
        self.assertEqual(sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO), 1)
        self.assertEqual(sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY), 1)
        self.assertFalse(sock.getblocking())

    def test_a_reply_decodes(self):
        self.assertIsInstance(codec.decode(codec.encode(Message(T.REPLY, 1, []))), Message)
