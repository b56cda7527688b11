"""Tests for apidhcpd.dhcp6.message, ia and duid: the model, its accessors, the relay chain,
reply_for, and the IA and DUID values."""

import uuid

from hypothesis import given
from twisted.trial.unittest import SynchronousTestCase

from apidhcpd.dhcp6 import duid
from apidhcpd.dhcp6.codec import decode, encode
from apidhcpd.dhcp6.ia import IA, IA_NA, IA_PD, IA_TA, IAAddress, IAPrefix
from apidhcpd.dhcp6.message import Message, RelayMessage, relay_reply, reply_for, unwrap
from apidhcpd.dhcp6.names import ClientFQDN
from apidhcpd.dhcp6.options import DUIDType, MessageType, OptionCode, StatusCode
from apidhcpd.dhcp6.values import OptionError, Status
from tests.test_dhcp6_codec import ADVERTISE, RELAY_FORW, SERVER_DUID, SOLICIT, SOLICIT_MAC, ias

C = OptionCode


class ModelTests(SynchronousTestCase):

    def test_defaults_and_equality(self):
        self.assertEqual(Message(1), Message(1, 0, []))
        self.assertNotEqual(Message(1, 1), Message(1, 2))
        a, b = Message(1), Message(1)
        a.add_raw(14, b"")
        self.assertEqual(b.options, [])

    def test_repeats_keep_their_order(self):
        m = Message(1)
        m.add_raw(15, b"\x00\x01a")
        m.add_raw(3, bytes(12))
        m.add_raw(15, b"\x00\x01b")
        self.assertEqual(m.all(15), [b"\x00\x01a", b"\x00\x01b"])
        self.assertEqual(m.first(15), b"\x00\x01a")
        self.assertEqual(m.user_classes, [b"a", b"b"])
        self.assertIsNone(m.first(16))
        self.assertEqual(m.all(16), [])

    def test_set_replaces_every_instance_in_place_of_the_first(self):
        m = Message(7, 1, [(23, b"x"), (1, b"c"), (23, b"y")])
        m.set(23, ["2001:db8::53"])
        self.assertEqual([code for code, _ in m.options], [23, 1])
        self.assertEqual(m.get(23), ["2001:db8::53"])
        m.set_raw(32, b"\x00\x00\x0e\x10")
        self.assertEqual(m.options[-1], (32, b"\x00\x00\x0e\x10"))
        m.remove(23)
        self.assertNotIn(23, m)
        self.assertIn(32, m)

    def test_add_goes_through_the_catalogue(self):
        m = Message(7)
        m.add(C.DOMAIN_LIST, ["example.com"])
        self.assertEqual(m.first(24), b"\x07example\x03com\x00")
        self.assertRaises(OptionError, m.add, C.DNS_SERVERS, ["192.0.2.1"])
        self.assertEqual(len(m.options), 1)

    def test_get_and_typed_give_none_for_malformed(self):
        m = Message(1, 0, [(C.ELAPSED_TIME, b"\x00"), (C.ORO, b"\x00\x17\x00")])
        self.assertIsNone(m.elapsed_time)
        self.assertIsNone(m.oro)
        self.assertIsNone(m.get(C.ELAPSED_TIME))
        self.assertIsNone(m.get(C.DNS_SERVERS))


class AccessorTests(SynchronousTestCase):

    def test_solicit(self):
        m = decode(SOLICIT)
        self.assertEqual(m.msg_type, MessageType.SOLICIT)
        found = m.client_duid
        self.assertEqual((found.type, found.hardware_type), (DUIDType.LL, 1))
        self.assertEqual(found.mac, SOLICIT_MAC)
        self.assertEqual(m.mac, SOLICIT_MAC)
        (ia,) = m.ias_na
        self.assertEqual((ia.code, ia.iaid, ia.t1, ia.t2, ia.addresses), (IA_NA, 0xA1B2C3,
                                                                          0, 0, ()))
        self.assertEqual((m.ias_ta, m.ias_pd), ([], []))
        self.assertEqual(m.oro, [C.DNS_SERVERS, C.DOMAIN_LIST])
        self.assertEqual(m.elapsed_time, 0)
        self.assertFalse(m.rapid_commit)
        self.assertFalse(m.reconfigure_accept)
        self.assertIsNone(m.server_id)
        self.assertIsNone(m.server_duid)
        self.assertIsNone(m.client_arch)
        self.assertEqual((m.user_classes, m.vendor_classes, m.vendor_options), ([], [], []))

    def test_advertise(self):
        m = decode(ADVERTISE)
        self.assertEqual(m.server_duid.type, DUIDType.LLT)
        self.assertEqual(m.server_duid.mac, "02:00:00:00:00:01")
        self.assertEqual([ia.iaid for ia in m.ias_na], [0xA1B2C3, 2])
        self.assertEqual(m.ias_na[1].status.code, StatusCode.NoAddrsAvail)

    def test_what_a_client_may_say(self):
        m = Message(MessageType.SOLICIT, 1, [
            (C.RAPID_COMMIT, b""),
            (C.RECONF_ACCEPT, b""),
            (C.USER_CLASS, b"\x00\x03abc\x00\x01d"),
            (C.VENDOR_CLASS, b"\x00\x00\x01\x37\x00\x08MSFT 5.0"),
            (C.VENDOR_OPTS, b"\x00\x00\x01\x37\x00\x01\x00\x01x"),
            (C.CLIENT_ARCH, b"\x00\x07"),
            (C.CLIENT_FQDN, b"\x01\x04host\x00"),
            (C.STATUS_CODE, b"\x00\x00done"),
            (C.IA_TA, b"\x00\x00\x00\x09"),
            (C.IA_PD, bytes(12)),
        ])
        self.assertTrue(m.rapid_commit)
        self.assertTrue(m.reconfigure_accept)
        self.assertEqual(m.user_classes, [b"abc", b"d"])
        self.assertEqual(m.vendor_classes, [(311, [b"MSFT 5.0"])])
        self.assertEqual(m.vendor_options, [(311, [(1, b"x")])])
        self.assertEqual(m.client_arch, [7])
        self.assertEqual(m.client_fqdn, ClientFQDN(1, "host."))
        self.assertEqual(m.status, Status(0, "done"))
        self.assertEqual(m.ias_ta, [IA(IA_TA, 9)])
        self.assertEqual(m.ias_pd, [IA(IA_PD, 0)])

    def test_malformed_entries_are_left_out(self):
        m = Message(MessageType.REQUEST, 1, [
            (C.IA_NA, bytes(11)),                        # short
            (C.IA_NA, bytes.fromhex("00000001" "00000000" "00000000")),
            (C.IA_NA, bytes(12) + b"\x00\x05\x00\x02ab"),  # a short IAADDR inside
            (C.USER_CLASS, b"\x00\x05ab"),
            (C.VENDOR_CLASS, b"\x00"),
            (C.CLIENTID, b"\x00\x03"),                   # too short for a DUID
        ])
        self.assertEqual([ia.iaid for ia in m.ias_na], [1])
        self.assertEqual(m.user_classes, [])
        self.assertEqual(m.vendor_classes, [])
        self.assertEqual(m.client_id, b"\x00\x03")
        self.assertIsNone(m.client_duid)
        self.assertIsNone(m.mac)

    def test_relay_accessors(self):
        r = RelayMessage(MessageType.RELAY_FORW, 0, "2001:db8:1::1", "fe80::1", [
            (C.INTERFACE_ID, b"ge-0/0/1"),
            (C.REMOTE_ID, b"\x00\x00\x0d\xe9port7"),
            (C.SUBSCRIBER_ID, b"sub-42"),
            (C.CLIENT_LINKLAYER_ADDR, bytes.fromhex("0001525400a1b2c3")),
            (C.RELAY_SOURCE_PORT, b"\x10\x00"),
            (C.ERO, b"\x00\x25"),
        ], Message(1))
        self.assertEqual(r.interface_id, b"ge-0/0/1")
        self.assertEqual(r.remote_id, (3561, b"port7"))
        self.assertEqual(r.subscriber_id, b"sub-42")
        self.assertEqual(r.client_linklayer_addr, (1, bytes.fromhex("525400a1b2c3")))
        self.assertEqual(r.mac, SOLICIT_MAC)
        self.assertEqual(r.relay_source_port, 4096)
        self.assertEqual(r.echo_request, [37])

    def test_relay_accessors_absent_or_not_ethernet(self):
        r = decode(RELAY_FORW)
        self.assertEqual(r.interface_id, b"eth1")
        for name in ("remote_id", "subscriber_id", "client_linklayer_addr", "mac",
                     "relay_source_port"):
            self.assertIsNone(getattr(r, name), name)
        self.assertEqual(r.echo_request, [])
        r.add_raw(C.CLIENT_LINKLAYER_ADDR, bytes.fromhex("0006525400a1b2c3"))  # IEEE 802
        self.assertIsNone(r.mac)


def relayed(inner, hops=2):
    """`inner` behind `hops` relays; the outermost has hop-count hops - 1."""
    packet = inner
    for hop in range(hops):
        packet = RelayMessage(MessageType.RELAY_FORW, hop, "2001:db8:%d::1" % (hop + 1),
                              "fe80::%d" % (hop + 1), [
                                  (C.INTERFACE_ID, b"if%d" % hop),
                                  (C.REMOTE_ID, b"\x00\x00\x00\x09r%d" % hop),
                                  (C.SUBSCRIBER_ID, b"s%d" % hop)], packet)
    return packet


class RelayChainTests(SynchronousTestCase):

    def test_unwrap(self):
        solicit = decode(SOLICIT)
        message, relays = unwrap(relayed(solicit))
        self.assertIs(message, solicit)
        self.assertEqual([r.hop_count for r in relays], [1, 0])
        self.assertEqual([r.interface_id for r in relays], [b"if1", b"if0"])
        self.assertEqual(unwrap(solicit), (solicit, []))

    def test_relay_reply_copies_addresses_and_echoes_interface_id(self):
        _, relays = unwrap(relayed(decode(SOLICIT)))
        reply = decode(ADVERTISE)
        packet = relay_reply(relays, reply)
        for forward in relays:
            self.assertIsInstance(packet, RelayMessage)
            self.assertEqual(packet.msg_type, MessageType.RELAY_REPL)
            self.assertEqual((packet.hop_count, packet.link_address, packet.peer_address),
                             (forward.hop_count, forward.link_address, forward.peer_address))
            self.assertEqual(packet.options, [(C.INTERFACE_ID, forward.interface_id)])
            packet = packet.inner
        self.assertIs(packet, reply)

    def test_relay_reply_echoes_what_the_relay_asks_for(self):
        _, relays = unwrap(relayed(decode(SOLICIT), hops=1))
        relays[0].add_raw(C.ERO, b"\x00\x26\x00\x09")  # subscriber-id, and 9 (never echoed)
        packet = relay_reply(relays, decode(ADVERTISE))
        self.assertEqual([code for code, _ in packet.options],
                         [C.INTERFACE_ID, C.SUBSCRIBER_ID])

    def test_relay_reply_bytes(self):
        """The RELAY-REPL around an ADVERTISE for the RELAY-FORW vector, written by hand."""
        _, relays = unwrap(decode(RELAY_FORW))
        expected = bytes.fromhex(
            "0d" "00"                            # RELAY-REPL, hop-count copied
            "20010db8000100000000000000000001"   # link-address copied
            "fe80000000000000505400fffea1b2c3"   # peer-address copied
            "0012" "0004" "65746831"             # INTERFACE_ID echoed
            "0009" "0073") + ADVERTISE           # RELAY_MSG: the 115-byte ADVERTISE
        self.assertEqual(len(ADVERTISE), 0x73)
        self.assertEqual(encode(relay_reply(relays, decode(ADVERTISE))), expected)

    def test_no_relays(self):
        reply = decode(ADVERTISE)
        self.assertIs(relay_reply([], reply), reply)


class ReplyForTests(SynchronousTestCase):

    def test_copies_transaction_and_client_id(self):
        request = decode(SOLICIT)
        reply = reply_for(request, MessageType.ADVERTISE, SERVER_DUID)
        self.assertEqual((reply.msg_type, reply.transaction_id), (2, 0xABCDEF))
        self.assertEqual(reply.options, [(C.CLIENTID, request.client_id),
                                         (C.SERVERID, SERVER_DUID)])
        self.assertEqual(reply.server_duid, duid.parse(SERVER_DUID))

    def test_the_advertise_vector_is_such_a_reply(self):
        reply = reply_for(decode(SOLICIT), MessageType.ADVERTISE, SERVER_DUID)
        reply.add_ia(IA(IA_NA, 0xA1B2C3, 3600, 5400,
                        addresses=(IAAddress("2001:db8::100", 3600, 7200),)))
        reply.add_ia(IA(IA_NA, 2, status=Status(StatusCode.NoAddrsAvail, "no addresses!")))
        self.assertEqual(encode(reply), ADVERTISE)

    def test_without_client_id(self):
        request = Message(MessageType.INFORMATION_REQUEST, 7)
        reply = reply_for(request, MessageType.REPLY, SERVER_DUID)
        self.assertEqual(reply.options, [(C.SERVERID, SERVER_DUID)])

    def test_reply_is_a_new_message(self):
        request = decode(SOLICIT)
        reply_for(request, MessageType.ADVERTISE, SERVER_DUID).add_raw(23, bytes(16))
        self.assertEqual(request, decode(SOLICIT))


class IATests(SynchronousTestCase):

    @given(ias())
    def test_round_trip_in_a_message(self, ia):
        m = Message(MessageType.REPLY, 1)
        m.add_ia(ia)
        again = decode(encode(m))
        self.assertEqual(again.ias(ia.code), [ia])

    def test_layout(self):
        ia = IA(IA_PD, 1, 1800, 2880, prefixes=(IAPrefix("2001:db8:ab00::", 56, 3600, 7200),),
                status=Status(0, ""), options=((99, b"x"),))
        self.assertEqual(ia.encode(), bytes.fromhex(
            "00000001" "00000708" "00000b40"
            "001a" "0019" "00000e10" "00001c20" "38" "20010db8ab0000000000000000000000"
            "000d" "0002" "0000"
            "0063" "0001" "78"))

    def test_network(self):
        self.assertEqual(str(IAPrefix("2001:db8:ab12::", 40).network), "2001:db8:ab00::/40")

    def test_refusals(self):
        self.assertRaises(OptionError, IA(IA_TA, 1, t1=5).encode)
        self.assertRaises(OptionError, IA(99, 1).encode)
        self.assertRaises(OptionError, IA(IA_NA, 1 << 32).encode)
        self.assertRaises(OptionError, IA(IA_NA, 1, addresses=(IAAddress("192.0.2.1"),)).encode)
        self.assertRaises(OptionError, IAAddress("::", -1).encode)
        self.assertRaises(OptionError, IA.decode, 99, bytes(12))
        self.assertRaises(OptionError, IA.decode, IA_TA, bytes(3))
        self.assertRaises(OptionError, IAAddress.decode, bytes(23))

    def test_other_structures_are_kept(self):
        """An IAPREFIX in an IA_NA, a second status: kept as raw options, in order."""
        raw = (bytes(12) + b"\x00\x1a\x00\x00" + b"\x00\x0d\x00\x02\x00\x01"
               + b"\x00\x0d\x00\x02\x00\x02")
        ia = IA.decode(IA_NA, raw)
        self.assertEqual(ia.status, Status(1, ""))
        self.assertEqual(ia.options, ((26, b""), (13, b"\x00\x02")))


class DUIDTests(SynchronousTestCase):

    def test_types(self):
        llt = duid.parse(SERVER_DUID)
        self.assertEqual((llt.type, llt.hardware_type, llt.time, llt.link_layer),
                         (1, 1, 0x2A2B2C2D, bytes.fromhex("020000000001")))
        en = duid.parse(bytes.fromhex("0002" "00000009" "0102"))
        self.assertEqual((en.enterprise, en.identifier, en.mac), (9, b"\x01\x02", None))
        value = uuid.UUID("12345678-1234-5678-1234-567812345678")
        self.assertEqual(duid.parse(duid.duid_uuid(value)).uuid, value.bytes)
        other = duid.parse(b"\x00\x09abc")
        self.assertEqual((other.type, other.raw, other.hex), (9, b"\x00\x09abc", "0009616263"))

    def test_mac_only_for_ethernet(self):
        self.assertEqual(duid.parse(duid.duid_ll("52:54:00:A1:B2:C3")).mac, SOLICIT_MAC)
        self.assertIsNone(duid.parse(bytes.fromhex("0003" "0006" "525400a1b2c3")).mac)
        self.assertIsNone(duid.parse(bytes.fromhex("0003" "0001" "525400a1b2")).mac)

    def test_builders(self):
        self.assertEqual(duid.duid_ll("52-54-00-a1-b2-c3"),
                         bytes.fromhex("00030001525400a1b2c3"))
        self.assertEqual(duid.duid_llt("02:00:00:00:00:01", duid.DUID_EPOCH + 0x2A2B2C2D),
                         SERVER_DUID)
        self.assertEqual(duid.duid_en(9, b"\x01"), bytes.fromhex("00020000000901"))
        for bad in (lambda: duid.duid_ll("52:54:00"), lambda: duid.duid_ll(None),
                    lambda: duid.duid_en(9, b""), lambda: duid.duid_en(1 << 32, b"x"),
                    lambda: duid.duid_en(9, bytes(125))):
            self.assertRaises(OptionError, bad)

    def test_limits(self):
        for raw in (b"", b"\x00\x03", b"\x00\x01" + bytes(5), b"\x00\x02\x00\x00\x00",
                    b"\x00\x03\x00", b"\x00\x04" + bytes(15), b"\x00\x04" + bytes(17),
                    b"\x00\x09" + bytes(129)):
            self.assertRaises(OptionError, duid.parse, raw)
        self.assertEqual(len(duid.parse(b"\x00\x09" + bytes(128)).raw), 130)
