"""Tests for apidhcpd.message: the model, typed accessors and reply_for."""

from twisted.trial.unittest import SynchronousTestCase

from apidhcpd.dhcp4.codec import decode, encode
from apidhcpd.dhcp4.message import Message, reply_for
from apidhcpd.dhcp4.options import (
    ACK,
    DISCOVER,
    INFORM,
    NAK,
    OFFER,
    REQUEST,
    ClientFQDN,
    OptionError,
)
from tests import fixtures


class ModelTests(SynchronousTestCase):

    def test_defaults(self):
        m = Message()
        self.assertEqual((m.op, m.htype, m.hlen, m.hops, m.xid, m.secs, m.flags),
                         (1, 1, 6, 0, 0, 0, 0))
        self.assertEqual((m.ciaddr, m.yiaddr, m.siaddr, m.giaddr), ("0.0.0.0",) * 4)
        self.assertEqual((m.chaddr, m.sname, m.file), (bytes(16), bytes(64), bytes(128)))
        self.assertEqual(m.options, {})

    def test_fields_are_padded(self):
        m = Message(chaddr=b"\x01\x02", sname=b"s", file=b"f")
        self.assertEqual(m.chaddr, b"\x01\x02" + bytes(14))
        self.assertEqual(m.sname, b"s" + bytes(63))
        self.assertEqual(m.file, b"f" + bytes(127))

    def test_too_long_fields_are_refused(self):
        self.assertRaises(ValueError, Message, chaddr=bytes(17))
        self.assertRaises(ValueError, Message, sname=bytes(65))
        self.assertRaises(ValueError, Message, file=bytes(129))

    def test_equality_by_value(self):
        self.assertEqual(Message(xid=1, options={53: b"\x01"}),
                         Message(xid=1, options={53: b"\x01"}))
        self.assertNotEqual(Message(xid=1), Message(xid=2))
        self.assertNotEqual(Message(options={53: b"\x01"}), Message(options={53: b"\x02"}))

    def test_options_are_not_shared(self):
        a, b = Message(), Message()
        a.options[53] = b"\x01"
        self.assertEqual(b.options, {})


class AccessorTests(SynchronousTestCase):

    def test_dhclient_discover(self):
        m = decode(fixtures.DHCLIENT_DISCOVER)
        self.assertEqual(m.message_type, DISCOVER)
        self.assertEqual(m.mac, "52:54:00:a1:b2:c3")
        self.assertEqual(m.requested_ip, "192.0.2.10")
        self.assertEqual(m.hostname, "debian")
        self.assertEqual(m.parameter_request_list, fixtures.DHCLIENT_PRL)
        self.assertIsNone(m.server_id)
        self.assertIsNone(m.client_id)
        self.assertIsNone(m.client_id_hex)
        self.assertIsNone(m.max_message_size)
        self.assertIsNone(m.relay_agent_info)
        self.assertFalse(m.broadcast)

    def test_udhcpc_discover(self):
        m = decode(fixtures.UDHCPC_DISCOVER)
        self.assertEqual(m.client_id, b"\x01\x02\x00\xc0\xff\xee\x01")
        self.assertEqual(m.client_id_hex, "010200c0ffee01")
        self.assertEqual(m.max_message_size, 576)
        self.assertEqual(m.get(60), b"udhcp 1.36.1")

    def test_request(self):
        m = decode(fixtures.DHCLIENT_REQUEST)
        self.assertEqual(m.message_type, REQUEST)
        self.assertEqual(m.server_id, "192.0.2.1")

    def test_relayed(self):
        m = decode(fixtures.RELAYED_DISCOVER)
        self.assertEqual(m.relay_agent_info, fixtures.RELAY_INFO)
        self.assertEqual(m.get(82)[0], (1, b"eth0:100"))
        self.assertTrue(m.broadcast)

    def test_mac_uses_hlen(self):
        m = Message(chaddr=bytes.fromhex("AABBCCDDEEFF0102"), hlen=6)
        self.assertEqual(m.mac, "aa:bb:cc:dd:ee:ff")
        m.hlen = 8
        self.assertEqual(m.mac, "aa:bb:cc:dd:ee:ff:01:02")
        m.hlen = 0
        self.assertEqual(m.mac, "")
        m.hlen = 255
        self.assertEqual(m.mac, ":".join(["aa", "bb", "cc", "dd", "ee", "ff", "01", "02"]
                                         + ["00"] * 8))

    def test_malformed_options_give_none(self):
        m = Message(options={
            53: b"", 50: b"\x01\x02", 54: b"\x01", 12: b"", 57: b"\x02",
            61: b"\x01", 82: b"\x01\x09x", 119: b"\xc0\x00"})
        for value in (m.message_type, m.requested_ip, m.server_id, m.hostname,
                      m.max_message_size, m.get(61), m.get(82), m.get(119)):
            self.assertIsNone(value)
        # The raw accessors still give the bytes.
        self.assertEqual(m.client_id, b"\x01")
        self.assertEqual(m.relay_agent_info, b"\x01\x09x")

    def test_get_absent(self):
        self.assertIsNone(Message().get(51))
        self.assertIsNone(Message().get(224))

    def test_set_and_get(self):
        m = Message()
        m.set(51, 3600)
        m.set(3, ["192.0.2.1"])
        m.set(81, ClientFQDN(5, 0, 0, "h.example."))
        self.assertEqual(m.options[51], b"\x00\x00\x0e\x10")
        self.assertEqual(m.get(51), 3600)
        self.assertEqual(m.get(3), ["192.0.2.1"])
        self.assertEqual(m.get(81).name, "h.example.")
        self.assertEqual(list(m.options), [51, 3, 81])

    def test_set_refuses_bad_values(self):
        m = Message()
        self.assertRaises(OptionError, m.set, 51, -1)
        self.assertRaises(OptionError, m.set, 54, "not an address")
        self.assertEqual(m.options, {})

    def test_set_raw(self):
        m = Message()
        m.set_raw(224, bytearray(b"\x01"))
        self.assertEqual(m.options, {224: b"\x01"})
        self.assertIsInstance(m.options[224], bytes)

    def test_broadcast_setter(self):
        m = Message(flags=0x0001)
        m.broadcast = True
        self.assertEqual(m.flags, 0x8001)
        m.broadcast = False
        self.assertEqual(m.flags, 0x0001)


class ReplyForTests(SynchronousTestCase):
    """RFC 2131 table 3, with RFC 6842 (61) and RFC 3046 (82) echoes."""

    def request(self, **fields):
        m = decode(fixtures.DHCLIENT_REQUEST)
        for name, value in fields.items():
            setattr(m, name, value)
        return m

    def test_common_fields(self):
        request = self.request(hops=2, secs=9, flags=0x8000, giaddr="198.51.100.1",
                               sname=b"x", file=b"y", yiaddr="192.0.2.99",
                               siaddr="192.0.2.98")
        for msg_type in (OFFER, ACK, NAK):
            reply = reply_for(request, msg_type)
            self.assertEqual(reply.op, 2)
            self.assertEqual((reply.htype, reply.hlen), (1, 6))
            self.assertEqual(reply.xid, request.xid)
            self.assertEqual((reply.hops, reply.secs), (0, 0))
            self.assertEqual(reply.flags, 0x8000)
            self.assertEqual(reply.giaddr, "198.51.100.1")
            self.assertEqual(reply.chaddr, request.chaddr)
            self.assertEqual((reply.yiaddr, reply.siaddr), ("0.0.0.0", "0.0.0.0"))
            self.assertEqual((reply.sname, reply.file), (bytes(64), bytes(128)))
            self.assertEqual(reply.message_type, msg_type)
            self.assertEqual(list(reply.options), [53])

    def test_ciaddr_per_table_3(self):
        request = self.request(ciaddr="192.0.2.10")
        self.assertEqual(reply_for(request, ACK).ciaddr, "192.0.2.10")
        self.assertEqual(reply_for(request, OFFER).ciaddr, "0.0.0.0")
        self.assertEqual(reply_for(request, NAK).ciaddr, "0.0.0.0")

    def test_inform_ack_keeps_ciaddr(self):
        inform = self.request(ciaddr="192.0.2.20")
        inform.set(53, INFORM)
        self.assertEqual(reply_for(inform, ACK).ciaddr, "192.0.2.20")

    def test_other_hardware_types(self):
        request = self.request(htype=32, hlen=16, chaddr=bytes(range(16)))
        reply = reply_for(request, OFFER)
        self.assertEqual((reply.htype, reply.hlen, reply.chaddr),
                         (32, 16, bytes(range(16))))

    def test_echoes_client_id(self):
        request = decode(fixtures.UDHCPC_DISCOVER)
        for msg_type in (OFFER, ACK, NAK):
            reply = reply_for(request, msg_type)
            self.assertEqual(reply.options[61], request.options[61])
            self.assertEqual(list(reply.options), [53, 61])

    def test_echoes_relay_agent_information_last(self):
        request = decode(fixtures.RELAYED_DISCOVER)
        request.set_raw(61, b"\x01" + fixtures.RELAYED_MAC)
        reply = reply_for(request, OFFER)
        self.assertEqual(reply.options[82], fixtures.RELAY_INFO)
        reply.set(54, "192.0.2.1")
        reply.set(51, 3600)
        wire = decode(encode(reply))
        self.assertEqual(list(wire.options), [53, 61, 54, 51, 82])
        self.assertEqual(wire.options[82], fixtures.RELAY_INFO)

    def test_nothing_else_is_copied(self):
        reply = reply_for(self.request(), ACK)
        for code in (50, 54, 12, 55):
            self.assertNotIn(code, reply.options)

    def test_reply_does_not_share_the_request_options(self):
        request = decode(fixtures.UDHCPC_DISCOVER)
        reply = reply_for(request, OFFER)
        reply.set(51, 60)
        self.assertNotIn(51, request.options)
