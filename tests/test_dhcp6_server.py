"""Whole DHCPv6 exchanges through DHCP6Server (RFC 8415 16, 18.3): an IStore6 in memory, a
fake clock, messages built as clients and relays build them."""

from twisted.internet import defer
from twisted.trial import unittest

from apidhcpd.dhcp6 import codec
from apidhcpd.dhcp6 import duid as duids
from apidhcpd.dhcp6.ia import IA_NA, IA_PD
from apidhcpd.dhcp6.message import Message, RelayMessage
from apidhcpd.dhcp6.options import MessageType as T
from apidhcpd.dhcp6.options import OptionCode as C
from apidhcpd.dhcp6.options import StatusCode as S
from apidhcpd.dhcp6.server import DHCP6Server
from apidhcpd.dhcp6.values import U32
from apidhcpd.store.contract6 import NA, PD, Conflict6, IAKey
from tests.dhcp6util import (
    CLIENT,
    INVENTORY,
    LINK,
    MAC,
    NOW,
    OTHER_SERVER,
    POLICY,
    RESERVED_MAC,
    SERVER_DUID,
    Rig,
    Store6,
    interface_id,
    link_layer,
    message,
    na,
    pd,
    relayed,
    remote_id,
)

RANGE = {"2001:db8:1::100", "2001:db8:1::101", "2001:db8:1::102"}


def addresses(ia):
    return [(a.address, a.preferred, a.valid) for a in ia.addresses]


def prefixes(ia):
    return [("%s/%d" % (p.prefix, p.prefix_length), p.preferred, p.valid) for p in ia.prefixes]


def status(ia_or_message):
    found = ia_or_message.status
    return None if found is None else found.code


class ServerTestCase(unittest.TestCase):
    def setUp(self):
        self.rig = Rig(self)
        self.store = self.rig.store

    def ask(self, packet, **kw):
        return self.rig.ask(packet, **kw)

    def counted(self, key):
        return self.rig.server.counters.get(key, 0)

    def bind(self, *ias, client=CLIENT):
        """SOLICIT, then REQUEST what was advertised: the REPLY."""
        advertise = self.ask(message(T.SOLICIT, *ias, client=client))
        offered = [ia for code in (IA_NA, IA_PD) for ia in advertise.ias(code)]
        return self.ask(message(T.REQUEST, *offered, client=client, server=SERVER_DUID))


class SolicitTests(ServerTestCase):
    def test_an_address_is_advertised_with_lifetimes_t1_t2_and_the_options_asked(self):
        reply = self.ask(message(T.SOLICIT, na(7)))
        self.assertIsInstance(reply, Message)
        self.assertEqual((reply.msg_type, reply.transaction_id), (T.ADVERTISE, 0x123456))
        self.assertEqual((reply.client_id, reply.server_id), (CLIENT, SERVER_DUID))
        (ia,) = reply.ias_na
        (address,) = addresses(ia)
        self.assertIn(address[0], RANGE)
        self.assertEqual(address[1:], (1800, 3600))  # the subnet6's preferred and valid
        self.assertEqual((ia.iaid, ia.t1, ia.t2, ia.status), (7, 900, 1440, None))
        self.assertEqual(reply.get(C.DNS_SERVERS), ["2001:db8::53"])
        self.assertEqual(reply.get(C.DOMAIN_LIST), ["example.test"])
        lease = self.store.lease(IAKey(CLIENT.hex(), 7, NA))
        self.assertEqual((lease.value, lease.state), (address[0], "offered"))
        self.assertEqual(self.counted(("SOLICIT", "advertise")), 1)

    def test_a_prefix_is_advertised_from_the_pd_pool(self):
        reply = self.ask(message(T.SOLICIT, pd(3)))
        (ia,) = reply.ias_pd
        (prefix,) = prefixes(ia)
        self.assertIn(prefix[0], {"2001:db8:100::/56", "2001:db8:100:100::/56",
                                  "2001:db8:100:200::/56", "2001:db8:100:300::/56"})
        self.assertEqual((ia.iaid, ia.t1, ia.t2), (3, 900, 1440))

    def test_both_kinds_and_several_ias_in_one_message(self):
        reply = self.ask(message(T.SOLICIT, na(1), pd(1), na(2), pd(2)))
        got_na = [addresses(ia)[0][0] for ia in reply.ias_na]
        got_pd = [prefixes(ia)[0][0] for ia in reply.ias_pd]
        self.assertEqual([ia.iaid for ia in reply.ias_na], [1, 2])
        self.assertEqual(len(set(got_na)), 2)
        self.assertEqual(len(set(got_pd)), 2)
        self.assertTrue(set(got_na) <= RANGE)

    def test_the_client_hint_is_taken_when_free(self):
        reply = self.ask(message(T.SOLICIT, na(1, "2001:db8:1::102")))
        self.assertEqual(addresses(reply.ias_na[0])[0][0], "2001:db8:1::102")

    def test_a_hint_off_the_link_is_not_taken(self):
        reply = self.ask(message(T.SOLICIT, na(1, "2001:db8:9::5")))
        self.assertIn(addresses(reply.ias_na[0])[0][0], RANGE)

    def test_no_address_left_is_no_addrs_avail_in_the_ia(self):
        for n in range(3):
            self.bind(na(1), client=duids.duid_ll("02:00:00:00:02:%02x" % n))
        reply = self.ask(message(T.SOLICIT, na(1), pd(1)))
        (ia,) = reply.ias_na
        self.assertEqual((ia.addresses, status(ia), ia.t1, ia.t2), ((), S.NoAddrsAvail, 0, 0))
        self.assertEqual(status(reply.ias_pd[0]), None)  # prefixes are still there

    def test_no_pd_pool_is_no_prefix_avail(self):
        self.store.hset("subnet6:2001:db8:1::/64", pd_pool="")
        reply = self.ask(message(T.SOLICIT, pd(1)))
        self.assertEqual(status(reply.ias_pd[0]), S.NoPrefixAvail)

    def test_a_temporary_address_is_not_served(self):
        from apidhcpd.dhcp6.ia import IA, IA_TA
        reply = self.ask(message(T.SOLICIT, IA(IA_TA, 4)))
        (ia,) = reply.ias_ta
        self.assertEqual(status(ia), S.NoAddrsAvail)

    def test_only_the_options_asked_for(self):
        self.assertNotIn(C.DNS_SERVERS, self.ask(message(T.SOLICIT, na(1), oro=None)))
        reply = self.ask(message(T.SOLICIT, na(1), oro=[C.DOMAIN_LIST, 999]))
        self.assertEqual([code for code, _ in reply.options if code not in (1, 2, 3)],
                         [C.DOMAIN_LIST])

    def test_the_preference_goes_in_an_advertise_unasked(self):
        self.store.hset("group:default", option6_preference="255")
        self.assertEqual(self.ask(message(T.SOLICIT, na(1))).get(C.PREFERENCE), 255)


class RapidCommitTests(ServerTestCase):
    RAPID = ((C.RAPID_COMMIT, b""),)

    def test_without_the_network_allowing_it_an_advertise(self):
        reply = self.ask(message(T.SOLICIT, na(1), extra=self.RAPID))
        self.assertEqual(reply.msg_type, T.ADVERTISE)
        self.assertFalse(reply.rapid_commit)

    def test_network_and_client_agree_reply_bound(self):
        self.store.hset("subnet6:2001:db8:1::/64", rapid_commit="yes")
        reply = self.ask(message(T.SOLICIT, na(1), pd(2), extra=self.RAPID))
        self.assertEqual(reply.msg_type, T.REPLY)
        self.assertTrue(reply.rapid_commit)
        lease = self.store.lease(IAKey(CLIENT.hex(), 1, NA))
        self.assertEqual((lease.state, lease.value), ("bound", addresses(reply.ias_na[0])[0][0]))
        self.assertEqual(self.store.lease(IAKey(CLIENT.hex(), 2, PD)).state, "bound")
        self.assertEqual(self.counted(("SOLICIT", "reply")), 1)

    def test_the_network_allowing_it_is_not_enough(self):
        self.store.hset("subnet6:2001:db8:1::/64", rapid_commit="yes")
        self.assertEqual(self.ask(message(T.SOLICIT, na(1))).msg_type, T.ADVERTISE)


class RequestTests(ServerTestCase):
    def test_the_advertised_address_is_bound(self):
        advertise = self.ask(message(T.SOLICIT, na(1)))
        offered = addresses(advertise.ias_na[0])[0][0]
        reply = self.ask(message(T.REQUEST, *advertise.ias_na, server=SERVER_DUID))
        self.assertEqual(reply.msg_type, T.REPLY)
        self.assertEqual(addresses(reply.ias_na[0]), [(offered, 1800, 3600)])
        lease = self.store.lease(IAKey(CLIENT.hex(), 1, NA))
        self.assertEqual((lease.value, lease.state, lease.expires),
                         (offered, "bound", NOW + 3600))

    def test_address_and_prefix_in_one_request(self):
        reply = self.bind(na(1), pd(1))
        self.assertEqual(len(reply.ias_na[0].addresses), 1)
        self.assertEqual(len(reply.ias_pd[0].prefixes), 1)
        kinds = {(ia.kind, lease.state) for ia, lease in self.store.bindings().items()}
        self.assertEqual(kinds, {(NA, "bound"), (PD, "bound")})

    def test_an_empty_ia_gets_a_value(self):
        reply = self.ask(message(T.REQUEST, na(5), server=SERVER_DUID))
        self.assertIn(addresses(reply.ias_na[0])[0][0], RANGE)

    def test_an_address_off_the_link_is_not_on_link(self):
        reply = self.ask(message(T.REQUEST, na(1, "2001:db8:9::1"), server=SERVER_DUID))
        self.assertEqual(status(reply.ias_na[0]), S.NotOnLink)
        self.assertEqual(self.store.bindings(), {})

    def test_another_clients_address_is_not_given(self):
        first = self.bind(na(1), client=duids.duid_ll("02:00:00:00:02:01"))
        taken = addresses(first.ias_na[0])[0][0]
        reply = self.ask(message(T.REQUEST, na(1, taken), server=SERVER_DUID))
        self.assertNotEqual(addresses(reply.ias_na[0])[0][0], taken)

    def test_a_conflict_at_commit_is_no_addrs_avail(self):
        self.store.bind6 = lambda *a, **kw: defer.fail(Conflict6("raced", True))
        reply = self.ask(message(T.REQUEST, na(1), server=SERVER_DUID))
        self.assertEqual(status(reply.ias_na[0]), S.NoAddrsAvail)
        self.assertTrue(any("raced" in w for w in self.rig.warnings))


class ReservationTests(ServerTestCase):
    RESERVED = duids.duid_ll(RESERVED_MAC)

    def test_a_host_by_mac_gets_its_ip6_and_prefix6(self):
        reply = self.bind(na(1), pd(1), na(2), client=self.RESERVED)
        self.assertEqual(addresses(reply.ias_na[0]), [("2001:db8:1::10", 1800, 3600)])
        self.assertEqual(prefixes(reply.ias_pd[0]), [("2001:db8:200::/56", 1800, 3600)])
        self.assertIn(addresses(reply.ias_na[1])[0][0], RANGE)  # one reservation per kind
        self.assertIn("commit6_reserved", self.store.calls)
        self.assertEqual(self.store.lease(IAKey(self.RESERVED.hex(), 1, NA)).value,
                         "2001:db8:1::10")

    def test_a_host_by_duid(self):
        self.store.hset("duid:" + CLIENT.hex(), ip6="2001:db8:1::20")
        reply = self.bind(na(1))
        self.assertEqual(addresses(reply.ias_na[0])[0][0], "2001:db8:1::20")

    def test_the_reservation_is_never_given_to_another(self):
        self.store.hset("subnet6:2001:db8:1::/64", range="2001:db8:1::10-2001:db8:1::11")
        reply = self.bind(na(1), na(2))
        got = [addresses(ia)[0][0] if ia.addresses else None for ia in reply.ias_na]
        self.assertEqual(got, ["2001:db8:1::11", None])
        self.assertEqual(status(reply.ias_na[1]), S.NoAddrsAvail)

    def test_a_reservation_off_the_link_is_not_given(self):
        self.store.hset("duid:" + CLIENT.hex(), ip6="2001:db8:7::1")
        reply = self.ask(message(T.SOLICIT, na(1)))
        self.assertEqual(status(reply.ias_na[0]), S.NoAddrsAvail)
        self.assertTrue(self.rig.warnings)


class RenewRebindTests(ServerTestCase):
    def bound(self):
        reply = self.bind(na(1), pd(2))
        return reply.ias_na[0], reply.ias_pd[0]

    def test_renew_extends_the_binding(self):
        ia_na, ia_pd = self.bound()
        self.rig.clock.advance(1000)
        reply = self.ask(message(T.RENEW, ia_na, ia_pd, server=SERVER_DUID))
        self.assertEqual(reply.msg_type, T.REPLY)
        self.assertEqual(addresses(reply.ias_na[0]), [(ia_na.addresses[0].address, 1800, 3600)])
        self.assertEqual(prefixes(reply.ias_pd[0])[0][0], prefixes(ia_pd)[0][0])
        self.assertEqual(self.store.lease(IAKey(CLIENT.hex(), 1, NA)).expires,
                         NOW + 1000 + 3600)
        self.assertEqual(self.counted(("RENEW", "reply")), 1)

    def test_renew_without_binding_is_no_binding(self):
        reply = self.ask(message(T.RENEW, na(9, "2001:db8:1::100"), server=SERVER_DUID))
        (ia,) = reply.ias_na
        self.assertEqual((status(ia), ia.addresses), (S.NoBinding, ()))

    def test_what_is_not_the_clients_comes_back_with_lifetimes_0(self):
        ia_na, _ = self.bound()
        mine = ia_na.addresses[0].address
        other = next(a for a in sorted(RANGE) if a != mine)
        reply = self.ask(message(T.RENEW, na(1, other, "2001:db8:9::1"), server=SERVER_DUID))
        self.assertEqual(sorted(addresses(reply.ias_na[0])),
                         sorted([(mine, 1800, 3600), (other, 0, 0), ("2001:db8:9::1", 0, 0)]))

    def test_rebind_extends_the_binding(self):
        ia_na, _ = self.bound()
        reply = self.ask(message(T.REBIND, ia_na))
        self.assertEqual(addresses(reply.ias_na[0])[0][1:], (1800, 3600))

    def test_rebind_of_an_unknown_binding_off_the_link_gets_lifetimes_0(self):
        reply = self.ask(message(T.REBIND, na(1, "2001:db8:9::1")))
        self.assertEqual(addresses(reply.ias_na[0]), [("2001:db8:9::1", 0, 0)])
        self.assertIsNone(status(reply.ias_na[0]))

    def test_rebind_of_an_unknown_binding_on_the_link_is_no_binding(self):
        reply = self.ask(message(T.REBIND, na(1, "2001:db8:1::100"), pd(2, "2001:db8:100::/56")))
        self.assertEqual([status(ia) for ia in reply.ias_na + reply.ias_pd],
                         [S.NoBinding, S.NoBinding])

    def test_a_binding_whose_pool_is_gone_gets_lifetimes_0(self):
        ia_na, _ = self.bound()
        self.store.hset("subnet6:2001:db8:1::/64", range="")
        reply = self.ask(message(T.RENEW, ia_na, server=SERVER_DUID))
        self.assertEqual(addresses(reply.ias_na[0]), [(ia_na.addresses[0].address, 0, 0)])

    def test_a_reserved_host_renews_without_a_lease_record(self):
        client = duids.duid_ll(RESERVED_MAC)
        reply = self.ask(message(T.RENEW, na(1, "2001:db8:1::10"), client=client,
                                 server=SERVER_DUID))
        self.assertEqual(addresses(reply.ias_na[0]), [("2001:db8:1::10", 1800, 3600)])


class ConfirmTests(ServerTestCase):
    def test_on_link_is_success(self):
        reply = self.ask(message(T.CONFIRM, na(1, "2001:db8:1::abc")))
        self.assertEqual((reply.msg_type, status(reply)), (T.REPLY, S.Success))
        self.assertEqual(reply.ias_na, [])

    def test_off_link_is_not_on_link(self):
        reply = self.ask(message(T.CONFIRM, na(1, "2001:db8:1::abc"), na(2, "2001:db8:9::1")))
        self.assertEqual(status(reply), S.NotOnLink)

    def test_no_address_no_reply(self):
        self.assertIsNone(self.ask(message(T.CONFIRM, na(1))))

    def test_with_a_server_id_no_reply(self):
        self.assertIsNone(self.ask(message(T.CONFIRM, na(1, "2001:db8:1::abc"),
                                           server=SERVER_DUID)))


class ReleaseDeclineTests(ServerTestCase):
    def test_release_frees_and_says_success(self):
        bound = self.bind(na(1), pd(2))
        reply = self.ask(message(T.RELEASE, *bound.ias_na, *bound.ias_pd, server=SERVER_DUID))
        self.assertEqual((reply.msg_type, status(reply)), (T.REPLY, S.Success))
        self.assertEqual((reply.ias_na, reply.ias_pd), ([], []))
        self.assertEqual(self.store.bindings(), {})

    def test_release_of_an_unknown_ia_is_no_binding(self):
        self.bind(na(1))
        reply = self.ask(message(T.RELEASE, na(2, "2001:db8:1::101"), server=SERVER_DUID))
        self.assertEqual(status(reply), S.Success)
        self.assertEqual([(ia.iaid, status(ia)) for ia in reply.ias_na], [(2, S.NoBinding)])
        self.assertEqual(len(self.store.bindings()), 1)

    def test_decline_quarantines_the_address(self):
        bound = self.bind(na(1))
        declined = addresses(bound.ias_na[0])[0][0]
        reply = self.ask(message(T.DECLINE, *bound.ias_na, server=SERVER_DUID))
        self.assertEqual(status(reply), S.Success)
        record = self.store.memory.leases6[declined]
        self.assertEqual((record.state, record.expires),
                         ("declined", NOW + POLICY.decline_probation))
        other = self.ask(message(T.SOLICIT, na(1, declined),
                                 client=duids.duid_ll("02:00:00:00:03:01")))
        self.assertNotEqual(addresses(other.ias_na[0])[0][0], declined)

    def test_decline_of_what_the_client_does_not_hold_is_no_binding(self):
        reply = self.ask(message(T.DECLINE, na(1, "2001:db8:1::100"), server=SERVER_DUID))
        self.assertEqual(status(reply.ias_na[0]), S.NoBinding)
        self.assertFalse(any(r.state == "declined" for r in self.store.memory.leases6.values()))


class InformationRequestTests(ServerTestCase):
    def test_options_and_the_refresh_time(self):
        reply = self.ask(message(T.INFORMATION_REQUEST, oro=[C.DNS_SERVERS,
                                                            C.INFORMATION_REFRESH_TIME]))
        self.assertEqual(reply.msg_type, T.REPLY)
        self.assertEqual(reply.get(C.DNS_SERVERS), ["2001:db8::53"])
        self.assertEqual(reply.get(C.INFORMATION_REFRESH_TIME), 86400)
        self.store.hset("subnet6:2001:db8:1::/64", information_refresh="1h")
        reply = self.ask(message(T.INFORMATION_REQUEST, oro=[C.DNS_SERVERS]))
        self.assertEqual(reply.get(C.INFORMATION_REFRESH_TIME), 3600)

    def test_anonymous_is_answered(self):
        reply = self.ask(message(T.INFORMATION_REQUEST, client=None))
        self.assertEqual((reply.client_id, reply.server_id), (None, SERVER_DUID))

    def test_with_an_ia_no_reply(self):
        self.assertIsNone(self.ask(message(T.INFORMATION_REQUEST, na(1))))
        self.assertEqual(self.counted(("dropped", "invalid-request")), 1)

    def test_naming_another_server_no_reply(self):
        self.assertIsNone(self.ask(message(T.INFORMATION_REQUEST, server=OTHER_SERVER)))
        self.assertIsNotNone(self.ask(message(T.INFORMATION_REQUEST, server=SERVER_DUID)))

    def test_refresh_time_only_in_an_information_reply(self):
        self.assertNotIn(C.INFORMATION_REFRESH_TIME,
                         self.ask(message(T.SOLICIT, na(1), oro=[32])))


class ServerIdentityTests(ServerTestCase):
    def test_request_renew_release_decline_need_our_server_id(self):
        for kind in (T.REQUEST, T.RENEW, T.RELEASE, T.DECLINE):
            self.assertIsNone(self.ask(message(kind, na(1, "2001:db8:1::100"))), kind)
            self.assertIsNone(self.ask(message(kind, na(1, "2001:db8:1::100"),
                                               server=OTHER_SERVER)), kind)
        self.assertEqual(self.counted(("dropped", "invalid-request")), 4)
        self.assertEqual(self.counted(("dropped", "other-server")), 4)
        self.assertEqual(self.store.bindings(), {})

    def test_solicit_confirm_rebind_must_name_no_server(self):
        for kind in (T.SOLICIT, T.REBIND):
            self.assertIsNone(self.ask(message(kind, na(1), server=SERVER_DUID)), kind)

    def test_the_duid_is_the_stores_across_restarts(self):
        self.store.memory.server_duids[POLICY.name] = "000300010200000000aa"
        reply = self.ask(message(T.SOLICIT, na(1)))
        self.assertEqual(reply.server_id.hex(), "000300010200000000aa")
        self.assertEqual(self.store.calls.count("server_duid"), 1)
        self.ask(message(T.SOLICIT, na(2)))
        self.assertEqual(self.store.calls.count("server_duid"), 1)  # asked once

    def test_a_bad_stored_duid_is_a_drop_and_asked_again(self):
        self.store.memory.server_duids[POLICY.name] = "zz"
        self.assertIsNone(self.ask(message(T.SOLICIT, na(1))))
        self.store.memory.server_duids[POLICY.name] = SERVER_DUID.hex()
        self.assertIsNotNone(self.ask(message(T.SOLICIT, na(1))))


class UnicastTests(ServerTestCase):
    def test_unicast_request_renew_release_decline_get_use_multicast(self):
        for kind in (T.REQUEST, T.RENEW, T.RELEASE, T.DECLINE):
            reply = self.ask(message(kind, na(1, "2001:db8:1::100"), server=SERVER_DUID),
                             unicast=True)
            self.assertEqual((reply.msg_type, status(reply)), (T.REPLY, S.UseMulticast))
            self.assertEqual([code for code, _ in reply.options],
                             [C.CLIENTID, C.SERVERID, C.STATUS_CODE])
        self.assertEqual(self.store.bindings(), {})

    def test_unicast_solicit_and_relayed_requests_are_served(self):
        self.assertEqual(self.ask(message(T.SOLICIT, na(1)), unicast=True).msg_type,
                         T.ADVERTISE)
        reply = self.ask(relayed(message(T.REQUEST, na(1), server=SERVER_DUID)), unicast=True)
        self.assertEqual(status(reply.inner.ias_na[0]), None)

    def test_use_multicast_is_not_sent_for_another_server(self):
        self.assertIsNone(self.ask(message(T.REQUEST, na(1), server=OTHER_SERVER),
                                   unicast=True))


class RelayTests(ServerTestCase):
    def test_a_relayed_client_gets_the_relays_network_and_the_chain_back(self):
        inner = relayed(message(T.SOLICIT, na(1)), link_address="::", peer="fe80::1:1",
                        options=[interface_id(b"port7"), (C.ERO, b"\x00\x25"),
                                 remote_id(b"sw1")])
        outer = relayed(inner, link_address="2001:db8:2::1", peer="fe80::2:2", hops=1,
                        options=[interface_id(b"uplink")])
        reply = self.ask(outer)
        self.assertIsInstance(reply, RelayMessage)
        self.assertEqual((reply.msg_type, reply.hop_count, reply.link_address,
                          reply.peer_address, reply.options),
                         (T.RELAY_REPL, 1, "2001:db8:2::1", "fe80::2:2",
                          [interface_id(b"uplink")]))
        middle = reply.inner
        self.assertEqual((middle.msg_type, middle.peer_address), (T.RELAY_REPL, "fe80::1:1"))
        self.assertEqual(middle.options, [interface_id(b"port7"), remote_id(b"sw1")])
        advertise = middle.inner
        self.assertEqual(advertise.msg_type, T.ADVERTISE)
        address = addresses(advertise.ias_na[0])[0][0]
        self.assertTrue(address.startswith("2001:db8:2::"), address)
        self.assertEqual(advertise.get(C.DNS_SERVERS), ["2001:db8::53"])
        codec.encode(reply)  # it can be written

    def test_option_79_gives_the_mac_of_the_host(self):
        self.store.hset("mac:02:00:00:00:05:05", ip6="2001:db8:2::55")
        client = duids.duid_en(9, b"opaque")  # no MAC in this DUID
        reply = self.ask(relayed(message(T.SOLICIT, na(1), client=client),
                                 options=[link_layer("02:00:00:00:05:05")]))
        self.assertEqual(addresses(reply.inner.ias_na[0])[0][0], "2001:db8:2::55")

    def test_option_79_of_a_client_on_the_link_counts_for_nothing(self):
        self.store.hset("mac:02:00:00:00:05:05", ip6="2001:db8:1::55")
        client = duids.duid_en(9, b"opaque")
        reply = self.ask(message(T.SOLICIT, na(1), client=client,
                                 extra=[link_layer("02:00:00:00:05:05")]))
        self.assertIn(addresses(reply.ias_na[0])[0][0], RANGE)

    def test_interface_id_and_remote_id_find_hosts(self):
        self.store.hset("relay:port7", ip6="2001:db8:2::77")
        reply = self.ask(relayed(message(T.SOLICIT, na(1)),
                                 options=[interface_id(b"port7")]))
        self.assertEqual(addresses(reply.inner.ias_na[0])[0][0], "2001:db8:2::77")
        self.store.hset("remote:0a0b", ip6="2001:db8:2::78")
        reply = self.ask(relayed(message(T.SOLICIT, na(1), client=duids.duid_en(9, b"x")),
                                 options=[remote_id(b"\x0a\x0b")]))
        self.assertEqual(addresses(reply.inner.ias_na[0])[0][0], "2001:db8:2::78")

    def test_a_relay_on_no_subnet6_is_dropped(self):
        self.assertIsNone(self.ask(relayed(message(T.SOLICIT, na(1)),
                                           link_address="2001:db8:77::1")))
        self.assertEqual(self.counted(("dropped", "no-subnet")), 1)

    def test_no_subnet6_for_our_own_link_either(self):
        rig = Rig(self, store=Store6())
        rig.store.hset("group:default", dns6="2001:db8::53")
        self.assertIsNone(rig.ask(message(T.SOLICIT, na(1))))


class HostileTests(ServerTestCase):
    def test_without_a_client_id_dropped_and_counted(self):
        for kind in (T.SOLICIT, T.REQUEST, T.CONFIRM, T.RENEW, T.REBIND, T.RELEASE,
                     T.DECLINE):
            self.assertIsNone(self.ask(message(kind, na(1), client=None, server=SERVER_DUID
                                               if kind in (T.REQUEST, T.RENEW, T.RELEASE,
                                                           T.DECLINE) else None)))
        self.assertEqual(self.counted(("dropped", "invalid-request")), 7)

    def test_a_client_id_that_is_no_duid(self):
        self.assertIsNone(self.ask(message(T.SOLICIT, na(1), client=b"\x00")))
        self.assertEqual(self.counted(("SOLICIT", "drop")), 1)

    def test_messages_a_server_does_not_act_on(self):
        for kind in (T.ADVERTISE, T.REPLY, T.RECONFIGURE, T.LEASEQUERY, 99):
            self.assertIsNone(self.ask(message(kind, na(1))), kind)
        reply = RelayMessage(T.RELAY_REPL, 0, "2001:db8:2::1", "fe80::1", [],
                             message(T.SOLICIT, na(1)))
        self.assertIsNone(self.ask(reply))
        self.assertEqual(self.counted(("dropped", "invalid-request")), 6)
        self.assertEqual(self.store.bindings(), {})

    def test_malformed_ias_and_options_are_left_out(self):
        reply = self.ask(message(T.SOLICIT, na(1), oro=None,
                                 extra=[(C.IA_NA, b"\x00\x01"), (C.ORO, b"\x00")]))
        self.assertEqual(len(reply.ias_na), 1)
        self.assertNotIn(C.DNS_SERVERS, reply)  # an ORO that does not read asks nothing

    def test_the_store_down_is_a_drop(self):
        self.ask(message(T.SOLICIT, na(1)))  # the DUID is known from now on
        self.store.down = True
        self.assertIsNone(self.ask(message(T.SOLICIT, na(1))))
        self.assertEqual(self.counted(("SOLICIT", "drop")), 1)

    def test_a_slow_store_is_a_drop_at_the_deadline(self):
        self.ask(message(T.SOLICIT, na(1)))
        self.store.lookup6 = lambda *a: defer.Deferred()
        results = []
        self.rig.server.handle(message(T.SOLICIT, na(1)), LINK).addCallback(results.append)
        self.rig.clock.advance(self.rig.server.deadline + 0.1)
        self.assertEqual(results, [None])
        self.assertEqual(self.rig.server.pending, 0)

    def test_overload_sheds(self):
        server = DHCP6Server(self.store, POLICY, self.rig.clock, max_pending=0)
        results = []
        server.handle(message(T.SOLICIT, na(1)), LINK).addCallback(results.append)
        self.assertEqual((results, server.counters[("dropped", "overloaded")]), ([None], 1))


class ProfileTests(ServerTestCase):
    def test_fields_by_layer_and_class(self):
        self.store.hset("group:lab", dns6="2001:db8::1:53")
        self.store.hset("duid:" + CLIENT.hex(), group="lab", ntp6="2001:db8::123")
        self.store.hset("class:pxe", match_vendor_class="PXEClient*",
                        option6_bootfile_url="tftp://[2001:db8::5]/boot.efi")
        vendor = (C.VENDOR_CLASS, b"\x00\x00\x01\x57" + b"\x00\x14PXEClient:Arch:00007")
        reply = self.ask(message(T.SOLICIT, na(1), extra=[vendor],
                                 oro=[C.DNS_SERVERS, C.NTP_SERVER, C.BOOTFILE_URL]))
        self.assertEqual(reply.get(C.DNS_SERVERS), ["2001:db8::1:53"])
        self.assertEqual(reply.get(C.NTP_SERVER), ["2001:db8::123"])
        self.assertEqual(reply.get(C.BOOTFILE_URL), "tftp://[2001:db8::5]/boot.efi")
        plain = self.ask(message(T.SOLICIT, na(1), client=duids.duid_ll("02:00:00:00:09:09"),
                                 oro=[C.DNS_SERVERS, C.BOOTFILE_URL]))
        self.assertEqual(plain.get(C.DNS_SERVERS), ["2001:db8::53"])
        self.assertNotIn(C.BOOTFILE_URL, plain)

    def test_bad_values_are_skipped_with_one_warning(self):
        self.store.hset("group:default", dns6="not-an-address", option6_2="00",
                        option6_sol_max_rt="120")
        reply = self.ask(message(T.SOLICIT, na(1), oro=[C.DNS_SERVERS, C.SOL_MAX_RT]))
        self.ask(message(T.SOLICIT, na(2)))
        self.assertNotIn(C.DNS_SERVERS, reply)
        self.assertEqual(reply.get(C.SOL_MAX_RT), 120)
        self.assertEqual(reply.server_id, SERVER_DUID)
        self.assertEqual(len(self.rig.warnings), 2, self.rig.warnings)

    def test_option6_by_code_wins_over_the_named_field(self):
        self.store.hset("group:default", option6_23="2001:db8::99")
        self.assertEqual(self.ask(message(T.SOLICIT, na(1))).get(C.DNS_SERVERS),
                         ["2001:db8::99"])
        self.store.hset("group:default", option6_23="", option6_dns_servers="2001:db8::98")
        self.assertEqual(self.ask(message(T.SOLICIT, na(1))).get(C.DNS_SERVERS),
                         ["2001:db8::98"])
        self.store.hset("group:default", option6_dns_servers="", option6_4444="0a0b")
        self.assertEqual(self.ask(message(T.SOLICIT, na(1), oro=[4444])).first(4444),
                         b"\x0a\x0b")
        self.assertEqual(self.rig.warnings, [])

    def test_lifetimes_fall_back_to_lease_time(self):
        self.store.hset("subnet6:2001:db8:1::/64", valid_lifetime="", preferred_lifetime="")
        (ia,) = self.ask(message(T.SOLICIT, na(1))).ias_na
        self.assertEqual((ia.addresses[0].preferred, ia.addresses[0].valid, ia.t1, ia.t2),
                         (3600, 7200, 1800, 2880))
        self.assertEqual(U32.decode(U32.encode(ia.t2)), 2880)


class LogTests(ServerTestCase):
    def test_one_line_per_exchange_with_duid_mac_and_outcome(self):
        from twisted.logger import globalLogPublisher
        lines = []
        globalLogPublisher.addObserver(lines.append)
        self.addCleanup(globalLogPublisher.removeObserver, lines.append)
        self.bind(na(1))
        mine = [e for e in lines if "DHCPv6" in e.get("log_format", "")]
        self.assertEqual([(e["type"], e["outcome"], e["mac"]) for e in mine],
                         [("SOLICIT", "advertise", MAC), ("REQUEST", "reply", MAC)])
        self.assertTrue(all(e["duid"] == CLIENT.hex() for e in mine))


class RedisExchangeTests(unittest.TestCase):
    """The same exchanges against the Redis store (its Lua scripts), on the real reactor."""

    @defer.inlineCallbacks
    def setUp(self):
        from twisted.internet import reactor

        from tests.redisserver import _find, shared_redis
        from tests.stores import connected_store
        if not _find("redis-server"):
            raise unittest.SkipTest("redis-server not installed")
        self.redis = shared_redis("dhcp6-server")
        self.redis.flushall()
        self.store = yield connected_store(self, self.redis)
        for key, fields in INVENTORY:
            self.redis.cli("HSET", key, *[x for kv in fields.items() for x in kv])
        yield self.store.refresh_reserved()  # the subnets6 index, for keys written by hand
        self.server = DHCP6Server(self.store, POLICY, reactor)

    def ask(self, packet):
        return self.server.handle(packet, LINK)

    @defer.inlineCallbacks
    def test_solicit_request_renew_release(self):
        advertise = yield self.ask(message(T.SOLICIT, na(1), pd(2)))
        self.assertEqual(advertise.msg_type, T.ADVERTISE, self.redis.cli("KEYS", "*"))
        address = addresses(advertise.ias_na[0])[0][0]
        self.assertIn(address, RANGE)
        reply = yield self.ask(message(T.REQUEST, *advertise.ias_na, *advertise.ias_pd,
                                       server=SERVER_DUID))
        self.assertEqual(addresses(reply.ias_na[0]), [(address, 1800, 3600)])
        self.assertEqual(prefixes(reply.ias_pd[0]), prefixes(advertise.ias_pd[0]))
        self.assertEqual(self.redis.cli("HGET", "lease6:" + address, "state").strip(), "bound")
        renewed = yield self.ask(message(T.RENEW, *reply.ias_na, server=SERVER_DUID))
        self.assertEqual(addresses(renewed.ias_na[0])[0][0], address)
        released = yield self.ask(message(T.RELEASE, *reply.ias_na, server=SERVER_DUID))
        self.assertEqual(status(released), S.Success)
        self.assertEqual(self.redis.cli("EXISTS", "lease6:" + address).strip(), "0")
        self.assertEqual(self.redis.cli("GET", "server6:" + POLICY.name).strip(),
                         SERVER_DUID.hex())

    @defer.inlineCallbacks
    def test_a_reserved_host_and_a_relayed_client(self):
        reply = yield self.ask(message(T.REQUEST, na(1), pd(1), server=SERVER_DUID,
                                       client=duids.duid_ll(RESERVED_MAC)))
        self.assertEqual((addresses(reply.ias_na[0])[0][0], prefixes(reply.ias_pd[0])[0][0]),
                         ("2001:db8:1::10", "2001:db8:200::/56"))
        relayed_reply = yield self.ask(relayed(message(T.SOLICIT, na(1)),
                                               options=[interface_id(b"p1")]))
        self.assertEqual(relayed_reply.options, [interface_id(b"p1")])
        self.assertTrue(addresses(relayed_reply.inner.ias_na[0])[0][0].startswith("2001:db8:2::"))
