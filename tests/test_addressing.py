"""RFC 2131 section 4.1: where each reply goes."""

from twisted.trial import unittest

from apidhcpd import options as opt
from apidhcpd.addressing import Destination, destination
from apidhcpd.message import Message


def pair(reply_type=opt.OFFER, yiaddr="192.0.2.10", **request_fields):
    request = Message(**request_fields)
    request.set(53, opt.DISCOVER)
    reply = Message(op=2, yiaddr=yiaddr)
    reply.set(53, reply_type)
    return request, reply


class DestinationTests(unittest.SynchronousTestCase):
    def test_relay_first_even_for_nak(self):
        for kind in (opt.OFFER, opt.NAK):
            self.assertEqual(destination(*pair(kind, giaddr="192.0.2.254", ciaddr="192.0.2.9")),
                             Destination("192.0.2.254", 67, "relay"))

    def test_relay_source_port_when_given(self):
        self.assertEqual(destination(*pair(giaddr="192.0.2.254"), relay_port=1067).port, 1067)

    def test_nak_without_relay_is_broadcast(self):
        self.assertEqual(destination(*pair(opt.NAK, ciaddr="192.0.2.9")),
                         Destination("255.255.255.255", 68, "broadcast"))

    def test_ciaddr_is_unicast(self):
        self.assertEqual(destination(*pair(opt.ACK, ciaddr="192.0.2.9", flags=0x8000)),
                         Destination("192.0.2.9", 68, "unicast"))

    def test_broadcast_flag(self):
        self.assertEqual(destination(*pair(flags=0x8000)),
                         Destination("255.255.255.255", 68, "broadcast"))

    def test_otherwise_unicast_to_yiaddr_at_chaddr(self):
        self.assertEqual(destination(*pair()), Destination("192.0.2.10", 68, "hardware"))

    def test_no_yiaddr_falls_back_to_broadcast(self):
        self.assertEqual(destination(*pair(yiaddr="0.0.0.0")).how, "broadcast")
