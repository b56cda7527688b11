"""DHCPv6 on a hostile LAN: the same rate limits as DHCPv4 (limits/ratelimit.py), by the
client's DUID and, for new clients (SOLICIT), by the relay's interface-id or remote-id; over
the limit a message is dropped and counted, and a client within its limit is still served."""

from twisted.trial import unittest

from apidhcpd.dhcp6 import duid as duids
from apidhcpd.dhcp6.options import MessageType as T
from apidhcpd.limits.ratelimit import Limit, Limits
from tests.dhcp6util import (
    CLIENT,
    RESERVED_MAC,
    SERVER_DUID,
    Rig,
    interface_id,
    message,
    na,
    pd,
    relayed,
    remote_id,
)

LIMITS = Limits(client=Limit(1.0, 3), circuit=Limit(1.0, 5))


class RateLimit6Tests(unittest.TestCase):
    def setUp(self):
        self.rig = Rig(self, limits=LIMITS)

    def counted(self, kind):
        return self.rig.server.counters.get(("dropped", kind), 0)

    def test_a_duid_beyond_its_burst_is_dropped_and_counted(self):
        answers = [self.rig.ask(message(T.SOLICIT, na(1))) for _ in range(10)]
        self.assertEqual(sum(a is not None for a in answers), 3)
        self.assertEqual(self.counted("rate-limited-client"), 7)
        other = duids.duid_ll("02:00:00:00:01:02")  # another client is not held back
        self.assertIsNotNone(self.rig.ask(message(T.SOLICIT, na(1), client=other)))
        self.rig.clock.advance(2)  # its bucket refills at its rate
        self.assertIsNotNone(self.rig.ask(message(T.SOLICIT, na(1), client=CLIENT)))

    def test_a_relay_port_bringing_new_clients_beyond_its_burst_is_dropped(self):
        for port in (interface_id(b"sw1/7"), remote_id(b"r1")):
            answered = 0
            for n in range(12):
                client = duids.duid_ll("02:00:00:%02x:02:%02x" % (len(port[1]), n))
                packet = relayed(message(T.SOLICIT, na(1), client=client), options=[port])
                answered += self.rig.ask(packet) is not None
            self.assertEqual(answered, 5, port)
        self.assertEqual(self.counted("rate-limited-circuit"), 14)

    def test_limits_off_drop_nothing(self):
        rig = Rig(self, limits=Limits())
        answers = [rig.ask(message(T.SOLICIT, na(1))) for _ in range(10)]
        self.assertTrue(all(a is not None for a in answers))


class _Monitor:
    """What the standby's steps read of ha.monitor.PeerMonitor."""

    master_alive = True


class StandbyAllocation6Tests(unittest.TestCase):
    """A standby without --allow-slave, after takeover: clients with existing leases (and
    reserved hosts) are served, no new values are handed out (DHCPv4's StandbyAllocation)."""

    def setUp(self):
        self.monitor = _Monitor()
        self.rig = Rig(self, standby=self.monitor, allow_allocation=False)
        self.monitor.master_alive = False  # bind as the master would have, on the same store
        master = Rig(self, store=self.rig.store)
        advertise = master.ask(message(T.SOLICIT, na(1), pd(2)))
        self.held = master.ask(message(T.REQUEST, *advertise.ias_na, *advertise.ias_pd,
                                       server=SERVER_DUID))

    def dropped(self):
        return self.rig.server.counters.get(("dropped", "standby-no-allocation"), 0)

    def test_existing_leases_are_renewed_rebound_and_advertised(self):
        held_na, held_pd = self.held.ias_na[0], self.held.ias_pd[0]
        for kind, server in ((T.RENEW, SERVER_DUID), (T.REBIND, None)):
            reply = self.rig.ask(message(kind, held_na, held_pd, server=server))
            self.assertEqual(reply.ias_na[0].addresses[0].address,
                             held_na.addresses[0].address)
            self.assertEqual(reply.ias_pd[0].prefixes[0].prefix, held_pd.prefixes[0].prefix)
        advertise = self.rig.ask(message(T.SOLICIT, na(1), pd(2)))  # a reboot
        self.assertEqual(advertise.ias_na[0].addresses[0].address,
                         held_na.addresses[0].address)
        request = self.rig.ask(message(T.REQUEST, *advertise.ias_na, *advertise.ias_pd,
                                       server=SERVER_DUID))
        self.assertEqual(request.msg_type, T.REPLY)
        self.assertEqual(self.dropped(), 0)

    def test_no_new_values(self):
        other = duids.duid_ll("02:00:00:00:01:42")
        self.assertIsNone(self.rig.ask(message(T.SOLICIT, na(1), client=other)))
        self.assertIsNone(self.rig.ask(message(T.REQUEST, na(1), client=other,
                                               server=SERVER_DUID)))
        self.assertIsNone(self.rig.ask(message(T.SOLICIT, na(1), na(3))))  # a new IA
        self.assertEqual(self.dropped(), 3)
        self.assertEqual(len(self.rig.store.bindings()), 2)  # nothing offered meanwhile

    def test_reserved_hosts_and_messages_that_allocate_nothing_pass(self):
        reserved = duids.duid_ll(RESERVED_MAC)
        advertise = self.rig.ask(message(T.SOLICIT, na(1), pd(1), client=reserved))
        self.assertEqual(advertise.ias_na[0].addresses[0].address, "2001:db8:1::10")
        other = duids.duid_ll("02:00:00:00:01:43")
        self.assertEqual(self.rig.ask(message(T.CONFIRM, na(1, "2001:db8:1::5"),
                                              client=other)).msg_type, T.REPLY)
        self.assertEqual(self.rig.ask(message(T.INFORMATION_REQUEST, client=other)).msg_type,
                         T.REPLY)
        self.assertEqual(self.dropped(), 0)

    def test_with_allow_slave_new_clients_get_values(self):
        rig = Rig(self, store=self.rig.store, standby=self.monitor, allow_allocation=True)
        other = duids.duid_ll("02:00:00:00:01:44")
        self.assertEqual(rig.ask(message(T.SOLICIT, na(1), client=other)).msg_type,
                         T.ADVERTISE)

    def test_silent_while_the_master_lives(self):
        self.monitor.master_alive = True
        self.assertIsNone(self.rig.ask(message(T.RENEW, *self.held.ias_na,
                                               server=SERVER_DUID)))
