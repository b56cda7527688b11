"""OutageCache: what is answered while the store is unreachable."""

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial import unittest

from apidhcpd.cache import OutageCache
from apidhcpd.store import Host, Intent, Lease, Lookup, StoreUnavailable

RESERVED = ["mac:02:00:00:00:08:01"]
DYNAMIC = ["mac:02:00:00:00:08:02"]
MAC2 = "02:00:00:00:08:02"
NOW = 1_000_000


class FlakyStore:
    """Answers like a store until `down`; then every lookup fails, or hangs with `hang`."""

    def __init__(self):
        self.down = self.hang = False

    def lookup(self, keys, now, selector, intent=None):
        if self.hang:
            return defer.Deferred()
        if self.down:
            return defer.fail(StoreUnavailable("down"))
        if keys == RESERVED:
            return defer.succeed(Lookup(Host(keys[0], {"ip": "192.0.2.10"}), "default"))
        allocation = None
        if intent and intent.kind == "commit":
            allocation = ("bound", Lease(intent.address, intent.mac, "bound", now + 600))
        return defer.succeed(Lookup(Host(keys[0], {"ip": "192.0.2.100", "dynamic": "1"}),
                                    "pool", allocation=allocation))

    def release(self, mac, ip, now):
        return defer.succeed(True)


class OutageCacheTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.backend = FlakyStore()
        self.cache = OutageCache(self.backend, self.clock, timeout=1.0)

    def lookup(self, keys, intent=None, now=NOW):
        return self.cache.lookup(keys, now, "192.0.2.1", intent)

    def test_reserved_hosts_are_answered_from_the_last_lookup(self):
        self.successResultOf(self.lookup(RESERVED))
        self.backend.down = True
        found = self.successResultOf(self.lookup(RESERVED))
        self.assertEqual((found.host.reserved_ip, self.cache.served), ("192.0.2.10", 1))

    def test_a_known_lease_is_offered_and_renewed_for_its_remaining_time_only(self):
        self.successResultOf(self.lookup(DYNAMIC, Intent("commit", MAC2, "192.0.2.100",
                                                         state="SELECTING")))
        self.backend.down = True
        offer = self.successResultOf(self.lookup(DYNAMIC, Intent("offer", MAC2), NOW + 100))
        self.assertEqual(offer.allocation, ("offered", "192.0.2.100"))
        renew = self.successResultOf(self.lookup(
            DYNAMIC, Intent("commit", MAC2, "192.0.2.100", state="RENEWING"), NOW + 300))
        self.assertEqual(renew.allocation[1].expires, NOW + 600)  # not extended
        other = self.lookup(DYNAMIC, Intent("commit", MAC2, "192.0.2.101", state="INIT-REBOOT"))
        self.failureResultOf(other, StoreUnavailable)
        late = self.lookup(DYNAMIC, Intent("offer", MAC2), NOW + 600)
        self.failureResultOf(late, StoreUnavailable)

    def test_new_clients_get_nothing(self):
        self.backend.down = True
        self.failureResultOf(self.lookup(["mac:02:00:00:00:08:09"], Intent("offer", "x")),
                             StoreUnavailable)

    def test_a_store_that_stops_answering_counts_as_down(self):
        self.successResultOf(self.lookup(RESERVED))
        self.backend.hang = True
        d = self.lookup(RESERVED)
        self.assertNoResult(d)
        self.clock.advance(1.0)
        self.assertEqual(self.successResultOf(d).host.reserved_ip, "192.0.2.10")

    def test_everything_else_passes_through(self):
        self.assertTrue(self.successResultOf(self.cache.release("m", "192.0.2.1", NOW)))
