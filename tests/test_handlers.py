"""Handler details that the whole-server tests (test_server.py) do not single out."""

import ipaddress

from twisted.internet import defer
from twisted.trial import unittest

from apidhcpd.handlers import GroupOptions, Transaction
from apidhcpd.inventory import Link, Profile
from apidhcpd.message import Message
from apidhcpd.store import Host, Lookup

LINK = Link("192.0.2.1", ipaddress.IPv4Network("192.0.2.0/24"))


def transaction(lookup):
    request = Message(chaddr=bytes.fromhex("020000000b01"))
    request.set(53, 1)
    tx = Transaction(request, LINK, 1_000_000)
    tx.lookup = lookup
    return tx


class GroupOptionsTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.built = 0
        self.step = GroupOptions(warn=lambda message: None)
        build = self.step._build

        def counting(*args):
            self.built += 1
            return build(*args)

        self.step._build = counting

    def profile(self, lookup):
        tx = transaction(lookup)
        self.successResultOf(defer.ensureDeferred(self.step(tx)))
        return tx.profile

    def test_the_same_hashes_give_the_same_profile_and_a_changed_one_a_new_profile(self):
        group, default = {"dns": "192.0.2.53"}, {"gateway": "192.0.2.1", "prefix": "24"}
        host = Host("mac:02:00:00:00:0b:01", {"ip": "192.0.2.9", "ts": "1"})
        first = self.profile(Lookup(host, "lab", group, default))
        again = self.profile(Lookup(host, "lab", group, default))
        self.assertIs(again, first)
        self.assertEqual(self.built, 1)
        # equal content in new dicts (a store that copies): still one build
        copy = self.profile(Lookup(Host(host.key, dict(host.fields, ts="2")), "lab",
                                   dict(group), dict(default)))
        self.assertIs(copy, first)
        self.assertEqual(self.built, 1)
        # a changed group arrives as a new dict: a new profile
        changed = self.profile(Lookup(host, "lab", {"dns": "198.51.100.53"}, default))
        self.assertEqual(self.built, 2)
        self.assertEqual(changed.options[6], bytes([198, 51, 100, 53]))
        self.assertEqual(first.options[6], bytes([192, 0, 2, 53]))


class ProfileTests(unittest.SynchronousTestCase):
    def test_holds_only_dotted_quads_on_its_network(self):
        profile = Profile(3600, ipaddress.IPv4Network("192.0.2.0/24"), {})
        self.assertEqual([profile.holds(ip) for ip in ("192.0.2.7", "192.0.2.255",
                                                       "192.0.3.1", "192.0.2", "junk", "")],
                         [True, True, False, False, False, False])
