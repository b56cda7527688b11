"""The RFC 2131 state machine through DHCPServer, with MemoryStore and a fake clock."""

import ipaddress

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial import unittest

from apidhcpd.dhcp4 import options as opt
from apidhcpd.dhcp4.message import Message
from apidhcpd.dhcp4.profile import Link
from apidhcpd.dhcp4.server import DHCPServer
from apidhcpd.dhcp4.transaction import Policy
from apidhcpd.store.contract import StoreUnavailable
from apidhcpd.store.memory import MemoryStore

SERVER = "192.0.2.1"
LINK = Link(SERVER, ipaddress.IPv4Network("192.0.2.0/24"))
KNOWN, OTHER = "02:00:00:00:01:01", "02:00:00:00:01:02"
PRL = [1, 3, 6, 12, 15, 28, 42, 119]


def request(mtype, mac=OTHER, prl=PRL, **fields):
    """A client's message: option keyword arguments are option codes as `o50=...`."""
    options = {k: v for k, v in fields.items() if k.startswith("o")}
    header = {k: v for k, v in fields.items() if not k.startswith("o")}
    msg = Message(op=1, xid=0x1234, chaddr=bytes.fromhex(mac.replace(":", "")), **header)
    msg.set(53, mtype)
    if prl is not None:
        msg.set(55, prl)
    for key, value in options.items():
        msg.set(int(key[1:]), value)
    return msg


class ServerTestCase(unittest.TestCase):
    def setUp(self):
        self.clock = Clock()
        self.clock.advance(1_000_000)
        self.store = MemoryStore()
        self.store.hset("group:default", gateway="192.0.2.1", prefix="24", dns="192.0.2.53",
                        domain="example.test.", lease_time="1h")
        self.store.hset("group:pool", gateway="192.0.2.1", prefix="24", dns="192.0.2.53",
                        lease_time="30m", range="192.0.2.100-192.0.2.102")
        self.store.hset("mac:" + KNOWN, ip="192.0.2.10", hostname="printer",
                        description="The printer")
        self.warnings = []
        self.server = self.make_server()

    def make_server(self, **policy):
        server = DHCPServer(self.store, Policy(server_id=SERVER, **policy), self.clock)
        server._warn = self.warnings.append
        return server

    def ask(self, msg, server=None):
        results = []
        (server or self.server).handle(msg, LINK).addCallback(results.append)
        self.clock.advance(0)
        self.assertEqual(len(results), 1, "no result yet")
        return results[0]

    @defer.inlineCallbacks
    def dora(self, mac=OTHER):
        offer = self.ask(request(opt.DISCOVER, mac))
        ack = self.ask(request(opt.REQUEST, mac, o50=offer.yiaddr, o54=SERVER))
        yield None
        return ack


class DiscoverTests(ServerTestCase):
    def test_known_host_is_offered_its_reservation_with_group_options(self):
        offer = self.ask(request(opt.DISCOVER, KNOWN))
        self.assertEqual((offer.op, offer.message_type, offer.yiaddr), (2, opt.OFFER, "192.0.2.10"))
        self.assertEqual(offer.server_id, SERVER)
        self.assertEqual(offer.get(51), 3600)
        self.assertEqual((offer.get(58), offer.get(59)), (1800, 3150))
        self.assertEqual(offer.get(1), "255.255.255.0")
        self.assertEqual(offer.get(3), ["192.0.2.1"])
        self.assertEqual(offer.get(6), ["192.0.2.53"])
        self.assertEqual(offer.get(15), "example.test")
        self.assertEqual(offer.get(12), "printer")
        self.assertEqual(offer.get(28), "192.0.2.255")
        self.assertEqual(offer.ciaddr, "0.0.0.0")

    def test_unknown_client_gets_a_pool_address_with_pool_lease_time(self):
        offer = self.ask(request(opt.DISCOVER))
        self.assertIn(offer.yiaddr, {"192.0.2.100", "192.0.2.101", "192.0.2.102"})
        self.assertEqual(offer.get(51), 1800)
        self.assertEqual(self.store.lease_records[offer.yiaddr].state, "offered")

    def test_only_requested_options_are_sent_in_the_order_asked(self):
        offer = self.ask(request(opt.DISCOVER, KNOWN, prl=[6, 3]))
        self.assertEqual(list(offer.options), [53, 54, 51, 58, 59, 1, 6, 3])

    def test_without_a_request_list_everything_configured_is_sent(self):
        offer = self.ask(request(opt.DISCOVER, KNOWN, prl=None))
        self.assertTrue({1, 3, 6, 12, 15, 28} <= set(offer.options))

    def test_client_identifier_is_echoed(self):
        offer = self.ask(request(opt.DISCOVER, o61=b"\x01\x02\x00\x00\x00\x01\x02"))
        self.assertEqual(offer.client_id, b"\x01\x02\x00\x00\x00\x01\x02")

    def test_client_is_found_by_option_61_before_mac(self):
        self.store.hset("client:ff00000001000102", ip="192.0.2.20")
        offer = self.ask(request(opt.DISCOVER, KNOWN, o61=bytes.fromhex("ff00000001000102")))
        self.assertEqual(offer.yiaddr, "192.0.2.20")

    def test_client_is_found_by_host_name_as_the_seed_did(self):
        self.store.hset("client:laptop", ip="192.0.2.21")
        self.assertEqual(self.ask(request(opt.DISCOVER, o12="laptop")).yiaddr, "192.0.2.21")

    def test_exhausted_pool_is_a_logged_drop(self):
        for n in range(3):
            self.assertIsNotNone(self.ask(request(opt.DISCOVER, "02:00:00:00:02:%02x" % n)))
        self.assertIsNone(self.ask(request(opt.DISCOVER)))
        self.assertEqual(self.server.counters[("DISCOVER", "drop")], 1)

    def test_seed_netmask_in_broadcast_is_corrected_with_one_warning(self):
        self.store.hset("group:pool", gateway="172.17.2.254", broadcast="255.255.0.0",
                        prefix="", range="")
        self.store.hset("pool", **{"172.17.9.1": ""})
        for mac in (OTHER, "02:00:00:00:01:03"):
            self.store.data["pool"] = {"172.17.9.1": ""}
            self.store.lease_records.clear()
            offer = self.ask(request(opt.DISCOVER, mac))
            self.assertEqual(offer.yiaddr, "172.17.9.1")
            self.assertEqual(offer.get(28), "172.17.255.255")
            self.assertEqual(offer.get(1), "255.255.0.0")
        self.assertEqual(len([w for w in self.warnings if "broadcast" in w]), 1)


class RequestTests(ServerTestCase):
    def test_selecting_binds_the_offer(self):
        ack = self.successResultOf(self.dora())
        self.assertEqual(ack.message_type, opt.ACK)
        self.assertEqual(self.store.lease_records[ack.yiaddr].state, "bound")
        self.assertEqual(self.store.data["mac:" + OTHER]["ip"], ack.yiaddr)

    def test_selecting_another_server_is_silent_and_frees_our_offer(self):
        offer = self.ask(request(opt.DISCOVER))
        self.assertIsNone(self.ask(request(opt.REQUEST, o50="192.0.2.222", o54="192.0.2.9")))
        self.assertNotIn(offer.yiaddr, self.store.lease_records)

    def test_selecting_an_address_taken_meanwhile_is_naked(self):
        offer = self.ask(request(opt.DISCOVER))
        self.clock.advance(61)  # the offer's hold ends and another client takes the address
        self.store.commit("02:00:00:00:01:09", offer.yiaddr, _pool_source(self), 600,
                          int(self.clock.seconds()))
        nak = self.ask(request(opt.REQUEST, o50=offer.yiaddr, o54=SERVER))
        self.assertEqual(nak.message_type, opt.NAK)

    def test_init_reboot_on_a_foreign_network_is_naked_per_table_3(self):
        nak = self.ask(request(opt.REQUEST, o50="198.51.100.7"))
        self.assertEqual(nak.message_type, opt.NAK)
        self.assertEqual((nak.yiaddr, nak.siaddr, nak.ciaddr), ("0.0.0.0",) * 3)
        self.assertEqual(nak.server_id, SERVER)
        for code in (51, 58, 59, 1, 3, 6):
            self.assertNotIn(code, nak.options)
        self.assertFalse(nak.broadcast)

    def test_nak_through_a_relay_sets_the_broadcast_bit(self):
        nak = self.ask(request(opt.REQUEST, o50="198.51.100.7", giaddr="192.0.2.254"))
        self.assertTrue(nak.broadcast)

    def test_init_reboot_for_another_address_than_the_reservation_is_naked(self):
        nak = self.ask(request(opt.REQUEST, KNOWN, o50="192.0.2.11"))
        self.assertEqual(nak.message_type, opt.NAK)
        ack = self.ask(request(opt.REQUEST, KNOWN, o50="192.0.2.10"))
        self.assertEqual((ack.message_type, ack.yiaddr), (opt.ACK, "192.0.2.10"))

    def test_init_reboot_with_a_lease_elsewhere_is_naked(self):
        ack = self.successResultOf(self.dora())
        other = "192.0.2.102" if ack.yiaddr != "192.0.2.102" else "192.0.2.101"
        self.assertEqual(self.ask(request(opt.REQUEST, o50=other)).message_type, opt.NAK)
        again = self.ask(request(opt.REQUEST, o50=ack.yiaddr))
        self.assertEqual((again.message_type, again.yiaddr), (opt.ACK, ack.yiaddr))

    def test_no_record_outside_our_pool_is_silent_unless_authoritative(self):
        self.assertIsNone(self.ask(request(opt.REQUEST, o50="192.0.2.77")))
        strict = self.make_server(authoritative=True)
        self.assertEqual(self.ask(request(opt.REQUEST, o50="192.0.2.77"), strict).message_type,
                         opt.NAK)

    def test_renewing_extends_the_same_address(self):
        ack = self.successResultOf(self.dora())
        first_expiry = self.store.lease_records[ack.yiaddr].expires
        self.clock.advance(900)
        renew = self.ask(request(opt.REQUEST, ciaddr=ack.yiaddr))
        self.assertEqual((renew.message_type, renew.yiaddr, renew.ciaddr),
                         (opt.ACK, ack.yiaddr, ack.yiaddr))
        self.assertEqual(self.store.lease_records[ack.yiaddr].expires, first_expiry + 900)

    def test_renewing_someone_elses_address_is_naked(self):
        ack = self.successResultOf(self.dora())
        nak = self.ask(request(opt.REQUEST, "02:00:00:00:01:09", ciaddr=ack.yiaddr))
        self.assertEqual(nak.message_type, opt.NAK)


class OtherMessageTests(ServerTestCase):
    def test_release_ends_the_lease(self):
        ack = self.successResultOf(self.dora())
        self.assertIsNone(self.ask(request(opt.RELEASE, ciaddr=ack.yiaddr, o54=SERVER)))
        self.assertNotIn(ack.yiaddr, self.store.lease_records)
        self.assertNotIn("ip", self.store.data["mac:" + OTHER])

    def test_release_for_another_server_is_ignored(self):
        ack = self.successResultOf(self.dora())
        self.ask(request(opt.RELEASE, ciaddr=ack.yiaddr, o54="192.0.2.9"))
        self.assertIn(ack.yiaddr, self.store.lease_records)

    def test_decline_quarantines_and_the_client_gets_another_address(self):
        ack = self.successResultOf(self.dora())
        self.assertIsNone(self.ask(request(opt.DECLINE, o50=ack.yiaddr, o54=SERVER)))
        self.assertEqual(self.store.lease_records[ack.yiaddr].state, "declined")
        offer = self.ask(request(opt.DISCOVER))
        self.assertNotEqual(offer.yiaddr, ack.yiaddr)

    def test_inform_gets_options_without_address_or_lease_time(self):
        ack = self.ask(request(opt.INFORM, ciaddr="192.0.2.50"))
        self.assertEqual((ack.message_type, ack.yiaddr, ack.ciaddr),
                         (opt.ACK, "0.0.0.0", "192.0.2.50"))
        self.assertEqual(ack.get(6), ["192.0.2.53"])
        for code in (51, 58, 59):
            self.assertNotIn(code, ack.options)

    def test_replies_to_server_messages_are_never_sent(self):
        self.assertIsNone(self.ask(request(opt.OFFER)))
        msg = request(opt.DISCOVER)
        msg.op = 2
        self.assertIsNone(self.ask(msg))


class FailureTests(ServerTestCase):
    def test_store_unavailable_is_a_drop(self):
        self.store.lookup = lambda *a: defer.fail(StoreUnavailable("down"))
        self.assertIsNone(self.ask(request(opt.DISCOVER)))
        self.assertEqual(self.server.counters[("DISCOVER", "drop")], 1)

    def test_a_store_that_never_answers_hits_the_deadline(self):
        self.store.lookup = lambda *a: defer.Deferred()
        results = []
        self.server.handle(request(opt.DISCOVER), LINK).addCallback(results.append)
        self.clock.advance(1.9)
        self.assertEqual(results, [])
        self.clock.advance(0.2)
        self.assertEqual(results, [None])

    def test_overload_is_shed_at_once_and_service_resumes(self):
        self.store.lookup = lambda *a: defer.Deferred()  # a store that has fallen behind
        server = DHCPServer(self.store, Policy(server_id=SERVER), self.clock, max_pending=2)
        first = [server.handle(request(opt.DISCOVER, "02:00:00:00:09:%02x" % n), LINK)
                 for n in range(2)]
        shed = []
        server.handle(request(opt.DISCOVER), LINK).addCallback(shed.append)
        self.assertEqual((shed, server.counters[("dropped", "overloaded")]), ([None], 1))
        self.assertFalse(any(d.called for d in first))
        self.clock.advance(2.1)  # their deadline passes
        self.assertEqual(server.pending, 0)

    def test_bad_inventory_data_is_skipped_with_a_warning(self):
        self.store.hset("group:default", dns="not-an-address", lease_time="forever")
        offer = self.ask(request(opt.DISCOVER, KNOWN))
        self.assertNotIn(6, offer.options)
        self.assertEqual(offer.get(51), 86400)
        self.assertEqual(len(self.warnings), 2)


def _pool_source(case):
    from apidhcpd.inventory import allocation
    from apidhcpd.store.contract import AddressSource
    return AddressSource("pool", allocation.parse_ranges(case.store.data["group:pool"]["range"]))
