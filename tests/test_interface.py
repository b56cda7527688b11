"""The SO_REUSEPORT group and its chaddr BPF program, on loopback."""

import errno
import socket
import struct

from twisted.trial import unittest

from apidhcpd.dhcp4 import interface


def payload(mac: bytes, giaddr=b"\xc6\x33\x64\x01") -> bytes:
    return bytes(24) + giaddr + mac + bytes(300 - 34)


class SpreadTests(unittest.SynchronousTestCase):
    def test_datagrams_go_to_the_socket_their_chaddr_names(self):
        first = interface.dhcp_socket("lo", 0, reuseport=True)
        self.addCleanup(first.close)
        port = first.getsockname()[1]
        second = interface.dhcp_socket("lo", port, reuseport=True)
        self.addCleanup(second.close)
        interface.spread_by_chaddr(first, 2)
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(sender.close)
        macs = [bytes([2, 0, 0, 0, 0, n]) for n in range(8)]
        for mac in macs:
            sender.sendto(payload(mac), ("127.0.0.1", port))
        local = bytes([2, 0, 0, 0, 0, 9])  # giaddr 0: always the first socket
        sender.sendto(payload(local, giaddr=bytes(4)), ("127.0.0.1", port))
        got = {0: [], 1: []}
        for index, sock in enumerate((first, second)):
            sock.settimeout(0.5)
            try:
                while True:
                    got[index].append(sock.recv(2048)[28:34])
                    sock.settimeout(0.05)
            except TimeoutError:
                pass
        expected = {i: [m for m in macs if struct.unpack("!I", m[2:])[0] % 2 == i]
                    for i in (0, 1)}
        expected[0].append(local)
        self.assertEqual(got, expected)


class ReceiveBufferTests(unittest.SynchronousTestCase):
    def test_the_dhcp_socket_can_queue_thousands_of_requests(self):
        sock = interface.dhcp_socket("lo", 0)
        self.addCleanup(sock.close)
        # the kernel reports twice what was set (its bookkeeping); the default is ~200 kB
        self.assertGreaterEqual(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF),
                                interface.RECEIVE_BUFFER)


class DHCPSocketTests(unittest.SynchronousTestCase):
    def test_bound_to_the_device_before_the_port(self):
        sock = interface.dhcp_socket("lo", 0)
        self.addCleanup(sock.close)
        self.assertEqual(sock.getsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, 16)
                         .rstrip(b"\0"), b"lo")
        self.assertEqual(sock.getsockname()[0], "0.0.0.0")
        self.assertFalse(sock.getblocking())

    def test_one_port_on_one_device_is_taken_once(self):
        sock = interface.dhcp_socket("lo", 0)
        self.addCleanup(sock.close)
        e = self.assertRaises(OSError, interface.dhcp_socket, "lo", sock.getsockname()[1])
        self.assertEqual(e.errno, errno.EADDRINUSE)

    def test_an_unknown_device_fails(self):
        e = self.assertRaises(OSError, interface.dhcp_socket, "nosuch0", 0)
        self.assertEqual(e.errno, errno.ENODEV)
