"""The DHCPv6 handler steps one at a time, and the pure parts they stand on: what the relays
say, the class facts, the profile of the layers, the IAs of a reply."""

from twisted.internet import defer
from twisted.trial import unittest

from apidhcpd.dhcp6 import duid as duids
from apidhcpd.dhcp6.classes import facts
from apidhcpd.dhcp6.handlers import CheckMessage, OnNetwork, Options6, OwnDUID, UnicastCheck
from apidhcpd.dhcp6.ia import IA_NA, IA_PD
from apidhcpd.dhcp6.lease import answer, host_keys, remaining, values_of
from apidhcpd.dhcp6.options import MessageType as T
from apidhcpd.dhcp6.options import OptionCode as C
from apidhcpd.dhcp6.options import StatusCode as S
from apidhcpd.dhcp6.profile import build_profile, layers
from apidhcpd.dhcp6.relay import NONE, relay_info
from apidhcpd.dhcp6.transaction import Drop, StatusReply, Transaction6, client_ias
from apidhcpd.dhcp6.values import Status
from apidhcpd.inventory.allocation6 import Lifetimes
from apidhcpd.store.contract import Host, Lookup
from apidhcpd.store.contract6 import NA, IAKey, Lease6
from tests.dhcp6util import (
    CLIENT,
    LINK,
    MAC,
    OTHER_SERVER,
    POLICY,
    SERVER_DUID,
    Store6,
    interface_id,
    link_layer,
    message,
    na,
    pd,
    relayed,
    remote_id,
)


def run(step, tx):
    """The step's outcome: None, or the exception it ended the transaction with."""
    found = []
    defer.ensureDeferred(step(tx)).addCallbacks(lambda _: found.append(None),
                                                lambda f: found.append(f.value))
    assert found, "the step did not finish"
    return found[0]


def tx_of(packet, unicast=False, lookup=None):
    tx = Transaction6(packet, LINK, 1_700_000_000, unicast)
    tx.server_duid = SERVER_DUID
    tx.lookup = lookup
    return tx


class RelayInfoTests(unittest.TestCase):
    def test_nothing_without_relays(self):
        self.assertIs(relay_info([]), NONE)

    def test_the_nearest_relays_ids_and_the_first_real_link_address(self):
        inner = relayed(message(T.SOLICIT), link_address="::",
                        options=[interface_id(b"p1"), remote_id(b"r1"), link_layer(MAC)])
        outer = relayed(inner, link_address="2001:db8:5::1",
                        options=[interface_id(b"up"), (C.RELAY_SOURCE_PORT, b"\x00\x00")])
        info = relay_info([outer, inner])
        self.assertEqual((info.interface_id, info.remote_id, info.mac, info.link_address,
                          info.source_port), (b"p1", b"r1", MAC, "2001:db8:5::1", True))

    def test_only_the_outermost_source_port_counts(self):
        inner = relayed(message(T.SOLICIT), options=[(C.RELAY_SOURCE_PORT, b"\x00\x00")])
        self.assertFalse(relay_info([relayed(inner), inner]).source_port)

    def test_all_unspecified_places_by_the_interface(self):
        tx = tx_of(relayed(message(T.SOLICIT), link_address="::"))
        self.assertEqual(tx.selector, LINK.address)


class TransactionTests(unittest.TestCase):
    def test_the_mac_is_option_79_else_the_duids(self):
        self.assertEqual(tx_of(message(T.SOLICIT)).mac, MAC)
        tx = tx_of(relayed(message(T.SOLICIT), options=[link_layer("02:00:00:00:0a:0a")]))
        self.assertEqual(tx.mac, "02:00:00:00:0a:0a")
        self.assertIsNone(tx_of(message(T.SOLICIT, client=duids.duid_en(1, b"x"))).mac)

    def test_host_keys_in_order(self):
        tx = tx_of(relayed(message(T.SOLICIT), options=[interface_id(b"sw1/7"),
                                                        remote_id(b"\x01\x02")]))
        self.assertEqual(host_keys(tx), ["duid:" + CLIENT.hex(), "mac:" + MAC, "relay:sw1/7",
                                         "remote:0102"])
        self.assertEqual(host_keys(tx_of(message(T.INFORMATION_REQUEST, client=None))), [])

    def test_facts_for_client_classes(self):
        vendor = (C.VENDOR_CLASS, b"\x00\x00\x01\x57\x00\x03abc\x00\x01d")
        user = (C.USER_CLASS, b"\x00\x04iPXE\x00\x01x")
        arch = (C.CLIENT_ARCH, b"\x00\x07\x00\x10")
        tx = tx_of(relayed(message(T.SOLICIT, extra=[vendor, user, arch]),
                           options=[interface_id(b"p9")]))
        found = facts(tx.message, tx.relay, tx.duid, tx.mac)
        self.assertEqual((found.vendor_class, found.user_classes, found.arches,
                          found.client_id, found.mac, found.circuit_id, found.remote_id),
                         ("abc", ("iPXE", "x"), (7, 16), CLIENT.hex(), MAC.replace(":", ""),
                          "p9", None))


class CheckMessageTests(unittest.TestCase):
    def outcome(self, packet):
        return run(CheckMessage(), tx_of(packet))

    def test_the_rules_of_section_16(self):
        ok, bad = None, Drop
        cases = [
            (message(T.SOLICIT), ok),
            (message(T.SOLICIT, client=None), bad),
            (message(T.SOLICIT, server=SERVER_DUID), bad),
            (message(T.REQUEST, server=SERVER_DUID), ok),
            (message(T.REQUEST), bad),
            (message(T.RENEW, server=SERVER_DUID, client=None), bad),
            (message(T.CONFIRM), ok),
            (message(T.REBIND, server=SERVER_DUID), bad),
            (message(T.RELEASE, server=SERVER_DUID), ok),
            (message(T.DECLINE, server=SERVER_DUID), ok),
            (message(T.INFORMATION_REQUEST, client=None), ok),
            (message(T.INFORMATION_REQUEST, server=SERVER_DUID), ok),
            (message(T.INFORMATION_REQUEST, pd(1)), bad),
            (message(T.REPLY), bad),
            (relayed(message(T.ADVERTISE)), bad),
        ]
        for packet, expected in cases:
            found = self.outcome(packet)
            if expected is None:
                self.assertIsNone(found, packet)
            else:
                self.assertIsInstance(found, Drop, packet)
                self.assertEqual(found.kind, "invalid-request")

    def test_another_servers_id_is_other_server(self):
        for kind in (T.REQUEST, T.RENEW, T.RELEASE, T.DECLINE, T.INFORMATION_REQUEST):
            found = self.outcome(message(kind, server=OTHER_SERVER))
            self.assertEqual(found.kind, "other-server", kind)


class UnicastCheckTests(unittest.TestCase):
    def test_which_messages_are_sent_use_multicast(self):
        for kind in (T.REQUEST, T.RENEW, T.RELEASE, T.DECLINE):
            found = run(UnicastCheck(), tx_of(message(kind), unicast=True))
            self.assertIsInstance(found, StatusReply)
            self.assertEqual(found.code, S.UseMulticast)
            self.assertIsNone(run(UnicastCheck(), tx_of(message(kind))))
            self.assertIsNone(run(UnicastCheck(), tx_of(relayed(message(kind)),
                                                        unicast=True)))
        for kind in (T.SOLICIT, T.CONFIRM, T.REBIND, T.INFORMATION_REQUEST):
            self.assertIsNone(run(UnicastCheck(), tx_of(message(kind), unicast=True)))


class OwnDUIDTests(unittest.TestCase):
    def test_proposed_stored_and_kept(self):
        store = Store6()
        step = OwnDUID(POLICY, store)
        tx = tx_of(message(T.SOLICIT))
        tx.server_duid = b""
        self.assertIsNone(run(step, tx))
        self.assertEqual((tx.server_duid, store.memory.server_duids), (SERVER_DUID,
                                                         {POLICY.name: SERVER_DUID.hex()}))
        run(step, tx_of(message(T.SOLICIT)))
        self.assertEqual(store.calls, ["server_duid"])

    def test_store_down_is_asked_again(self):
        store = Store6()
        store.down = True
        step = OwnDUID(POLICY, store)
        self.assertIsNotNone(run(step, tx_of(message(T.SOLICIT))))
        store.down = False
        self.assertIsNone(run(step, tx_of(message(T.SOLICIT))))
        self.assertEqual(store.calls, ["server_duid", "server_duid"])


class OnNetworkTests(unittest.TestCase):
    def test_no_subnet6_is_a_counted_drop(self):
        found = run(OnNetwork(), tx_of(message(T.SOLICIT), lookup=Lookup(None, "default")))
        self.assertEqual(found.kind, "no-subnet")
        self.assertIsNone(run(OnNetwork(), tx_of(message(T.SOLICIT), lookup=Lookup(
            None, "default", subnet="2001:db8:1::/64"))))


class ProfileTests(unittest.TestCase):
    def test_layers_in_order_host_only_fields_left_out(self):
        lookup = Lookup(Host("mac:x", {"ip6": "2001:db8::1", "ts": "1", "dns6": "2001:db8::3"}),
                        "lab", {"dns6": "2001:db8::2"}, {"dns6": "2001:db8::1"},
                        "2001:db8::/64", {"ntp6": "2001:db8::123"})
        found = layers(lookup, lookup.host.fields, [("c", {"match-mac": "02", "x": "1"})])
        self.assertEqual(found, [{"dns6": "2001:db8::1"}, {"ntp6": "2001:db8::123"},
                                 {"dns6": "2001:db8::2"}, {"x": "1"}, {"dns6": "2001:db8::3"}])

    def test_fields_to_options(self):
        profile = build_profile([{"dns6": "2001:db8::53, 2001:db8::54", "domain": "a.test,b.test",
                                  "ntp6": "ntp.example.test", "rapid-commit": "yes",
                                  "information-refresh": "6h", "option6-sol-max-rt": "60",
                                  "lease-time": "1h"}])
        self.assertEqual(set(profile.options), {C.DNS_SERVERS, C.DOMAIN_LIST, C.NTP_SERVER,
                                                C.SOL_MAX_RT})
        self.assertEqual(profile.options[C.DOMAIN_LIST], b"\x01a\x04test\x00\x01b\x04test\x00")
        self.assertEqual((profile.rapid_commit, profile.information_refresh), (True, 21600))
        self.assertEqual(profile.lifetimes, Lifetimes(1800, 3600, 900, 1440))
        self.assertEqual(profile.errors, ())

    def test_search_wins_over_domain(self):
        profile = build_profile([{"domain": "a.test"}, {"search": "s.test"}])
        self.assertEqual(profile.options[C.DOMAIN_LIST], b"\x01s\x04test\x00")

    def test_what_does_not_read_is_an_error_and_skipped(self):
        profile = build_profile([{"dns6": "192.0.2.1", "rapid-commit": "perhaps",
                                  "option6-nope": "1", "option6-3": "00",
                                  "information-refresh": "soon"}], "g")
        self.assertEqual(profile.options, {})
        self.assertEqual(len(profile.errors), 5)
        self.assertTrue(all(e.startswith("g: ") for e in profile.errors))
        self.assertFalse(profile.rapid_commit)

    def test_options6_caches_by_content(self):
        lookup = Lookup(None, "default", {}, {"dns6": "bad"}, "2001:db8::/64", {})
        warnings = []
        step = Options6(warnings.append)
        first, second = tx_of(message(T.SOLICIT), lookup=lookup), tx_of(
            message(T.SOLICIT), lookup=Lookup(None, "default", {}, {"dns6": "bad"},
                                              "2001:db8::/64", {}))
        run(step, first)
        run(step, second)
        self.assertIs(first.profile, second.profile)
        self.assertEqual(len(warnings), 1)


class AnswerTests(unittest.TestCase):
    def test_granted_and_withdrawn(self):
        lt = Lifetimes(10, 20, 5, 8)
        ia = answer(na(3), ("2001:db8::1", lt), ["2001:db8::1", "2001:db8::2"])
        self.assertEqual((ia.iaid, ia.t1, ia.t2), (3, 5, 8))
        self.assertEqual([(a.address, a.preferred, a.valid) for a in ia.addresses],
                         [("2001:db8::1", 10, 20), ("2001:db8::2", 0, 0)])
        ia = answer(pd(4), ("2001:db8:100::/56", lt))
        self.assertEqual([(p.prefix, p.prefix_length) for p in ia.prefixes],
                         [("2001:db8:100::", 56)])
        refused = answer(pd(4), status=Status(S.NoPrefixAvail, "none"))
        self.assertEqual((refused.t1, refused.prefixes, refused.status.code),
                         (0, (), S.NoPrefixAvail))

    def test_remaining_lifetimes_of_a_shorter_lease(self):
        lease = Lease6(IAKey("00", 1, NA), "2001:db8::1", "bound", 1000 + 600)
        self.assertEqual(remaining(Lifetimes(1800, 3600, 900, 1440), lease, 1000),
                         Lifetimes(600, 600, 600, 600))

    def test_ias_in_order_malformed_left_out(self):
        packet = message(T.SOLICIT, pd(2), na(1), extra=[(IA_NA, b"\x00")])
        self.assertEqual([(ia.code, ia.iaid) for ia in client_ias(packet)],
                         [(IA_PD, 2), (IA_NA, 1)])
        self.assertEqual(values_of(na(1, "2001:DB8::0001")), ["2001:db8::1"])
        self.assertEqual(values_of(pd(1, "2001:db8:100::/56")), ["2001:db8:100::/56"])
