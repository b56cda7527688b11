"""Behaviour no other test held in place (issue 12, item 6), each on the memory store and on
a real redis-server: a reviewer's change of any of them must fail here.

- a lease is taken until its expiry second and free from it (`>`, not `>=`: allocation.py's
  available() and common.lua's);
- an offer is held for Policy.offer_hold (--offer-hold), also on the Redis path;
- a request without a hardware address (hlen 0, or an all-zero chaddr) gets nothing;
- a reservation written straight into the store (redis-cli HSET, not the API) is indexed by the
  lookup that finds it, so its address cannot go to a dynamic client before the next refresh.
"""

import ipaddress

from twisted.internet import defer, reactor
from twisted.trial import unittest

from apidhcpd.dhcp4 import options as opt
from apidhcpd.dhcp4.profile import Link
from apidhcpd.dhcp4.server import DHCPServer
from apidhcpd.dhcp4.transaction import Policy
from apidhcpd.inventory import allocation
from apidhcpd.store.contract import AddressSource, Conflict
from apidhcpd.store.memory import MemoryStore
from tests.redisserver import shared_redis
from tests.stores import connected_store
from tests.test_server import request

SERVER = "192.0.2.1"
LINK = Link(SERVER, ipaddress.IPv4Network("192.0.2.0/24"))
ADDRESS = "192.0.2.100"  # the pool's only address
SOURCE = AddressSource("pool", allocation.parse_ranges(ADDRESS), seed_pool=True)
A, B, R = "02:00:00:00:0d:01", "02:00:00:00:0d:02", "02:00:00:00:0d:10"
NOW = 1_000_000
HOLD = 30  # not the default 60, and far from 1


class PinnedMixin:
    @defer.inlineCallbacks
    def setUp(self):
        self.now = NOW
        self.store = yield self.make_store()
        self.hset("group:default", gateway=SERVER, prefix="24", **{"lease-time": "1h"})
        self.hset("group:pool", gateway=SERVER, prefix="24",
                  **{"lease-time": "30m", "range": ADDRESS})
        self.server = DHCPServer(self.store, Policy(server_id=SERVER, offer_hold=HOLD), reactor,
                                 now=lambda: self.now)

    def ask(self, msg):
        return self.server.handle(msg, LINK)

    # a: the expiry second

    @defer.inlineCallbacks
    def test_a_lease_is_taken_until_its_expiry_second_and_free_from_it(self):
        lease = yield self.store.commit(A, ADDRESS, SOURCE, 600, NOW)
        end = lease.expires
        self.assertEqual(end, NOW + 600)
        self.assertEqual((yield self.store.lease_holder(ADDRESS, end - 1)), A)
        self.assertEqual((yield self.store.lease_of(A, end - 1)).ip, ADDRESS)
        self.assertIsNone((yield self.store.offer(B, SOURCE, ADDRESS, end - 1, HOLD)))
        failure = yield self.assertFailure(self.store.commit(B, ADDRESS, SOURCE, 600, end - 1),
                                           Conflict)
        self.assertTrue(failure.taken)
        self.assertIsNone((yield self.store.lease_holder(ADDRESS, end)))
        self.assertIsNone((yield self.store.lease_of(A, end)))
        self.assertEqual((yield self.store.offer(B, SOURCE, ADDRESS, end, HOLD)), ADDRESS)
        self.assertEqual((yield self.store.commit(B, ADDRESS, SOURCE, 600, end)).mac, B)

    # b: the offer hold, through the server (the lookup's round trip carries it)

    @defer.inlineCallbacks
    def test_an_offer_is_held_for_the_offer_hold(self):
        offer = yield self.ask(request(opt.DISCOVER, A))
        self.assertEqual(offer.yiaddr, ADDRESS)
        self.now = NOW + HOLD - 1
        other = yield self.ask(request(opt.DISCOVER, B, o50=ADDRESS))
        self.assertIsNone(other)  # the pool's only address is still held for A
        self.now = NOW + HOLD + 1
        other = yield self.ask(request(opt.DISCOVER, B, o50=ADDRESS))
        self.assertEqual((other.message_type, other.yiaddr), (opt.OFFER, ADDRESS))

    # c: no hardware address

    @defer.inlineCallbacks
    def test_a_request_without_a_hardware_address_gets_nothing(self):
        for msg in (request(opt.DISCOVER, A, hlen=0), request(opt.DISCOVER, "00:00:00:00:00:00"),
                    request(opt.REQUEST, A, hlen=0, o50=ADDRESS),
                    request(opt.REQUEST, "00:00:00:00:00:00", o50=ADDRESS),
                    request(opt.REQUEST, "00:00:00:00:00:00", ciaddr=ADDRESS)):
            self.assertIsNone((yield self.ask(msg)))
        self.assertEqual(self.server.counters[("dropped", "invalid-request")], 5)
        self.assertEqual((yield self.store.lease_count()), 0)
        offer = yield self.ask(request(opt.DISCOVER, B))  # the address was never taken
        self.assertEqual(offer.yiaddr, ADDRESS)

    # d: a reservation written behind the API's back

    @defer.inlineCallbacks
    def test_a_reservation_written_straight_in_is_indexed_by_its_lookup(self):
        self.hset("mac:" + R, ip=ADDRESS, hostname="printer")  # not through put()
        offer = yield self.ask(request(opt.DISCOVER, R))
        self.assertEqual(offer.yiaddr, ADDRESS)
        other = yield self.ask(request(opt.DISCOVER, B, o50=ADDRESS))
        self.assertIsNone(other)  # the pool's only address is reserved now
        self.assertIsNone((yield self.store.offer(B, SOURCE, ADDRESS, NOW, HOLD)))


class MemoryPinnedTests(PinnedMixin, unittest.TestCase):
    def make_store(self):
        return defer.succeed(MemoryStore())

    def hset(self, key, **fields):
        self.store.data.setdefault(key, {}).update(fields)


class RedisPinnedTests(PinnedMixin, unittest.TestCase):
    def make_store(self):
        self.redis = shared_redis("pinned")
        self.redis.flushall()
        return connected_store(self, self.redis)

    def hset(self, key, **fields):
        self.redis.cli("HSET", key, *[x for kv in fields.items() for x in kv])
