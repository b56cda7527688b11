"""DHCPv6 on a hostile LAN: the same rate limits as DHCPv4 (limits/ratelimit.py), by the
client's DUID and, for new clients (SOLICIT), by the relay's interface-id or remote-id; over
the limit a message is dropped and counted, and a client within its limit is still served."""

from twisted.trial import unittest

from apidhcpd.dhcp6 import duid as duids
from apidhcpd.dhcp6.options import MessageType as T
from apidhcpd.limits.ratelimit import Limit, Limits
from tests.dhcp6util import CLIENT, Rig, interface_id, message, na, relayed, remote_id

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
