"""RFC 2131 section 4.1: where each reply goes."""

from twisted.trial import unittest

from apidhcpd.dhcp4 import options as opt
from apidhcpd.dhcp4.addressing import Destination, destination, is_relay_address, relay_port
from apidhcpd.dhcp4.message import Message


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


class RelayAddressTests(unittest.SynchronousTestCase):
    OURS = frozenset({"192.0.2.1", "192.0.2.0", "192.0.2.255"})

    def test_only_a_unicast_address_that_is_not_ours(self):
        for giaddr in ("198.51.100.1", "192.0.2.254", "1.0.0.1", "126.255.255.255",
                       "128.0.0.1", "223.255.255.254"):
            self.assertTrue(is_relay_address(giaddr, self.OURS), giaddr)
        for giaddr in ("0.0.0.1", "0.255.0.0", "127.0.0.1", "127.1.2.3", "224.0.0.1",
                       "239.255.255.250", "240.0.0.1", "254.1.1.1", "255.255.255.255",
                       "192.0.2.1", "192.0.2.0", "192.0.2.255"):
            self.assertFalse(is_relay_address(giaddr, self.OURS), giaddr)

    def test_the_rfc_8357_port_only_for_the_relay_that_sent_it_or_a_trusted_one(self):
        relay = "198.51.100.1"
        self.assertEqual(relay_port(relay, (relay, 3067), (), True), 3067)
        self.assertEqual(relay_port(relay, (relay, 3067), (), False), 67)
        self.assertEqual(relay_port(relay, ("192.0.2.50", 3067), (), True), 67)
        self.assertEqual(relay_port(relay, ("192.0.2.254", 3067), {relay}, True), 3067)
