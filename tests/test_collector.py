"""The cycle collector's tuning: frozen on a timer, fully collected on another."""

import gc
import weakref

from twisted.internet.task import Clock
from twisted.trial import unittest

from apidhcpd import collector


class Cycle:
    def __init__(self):
        self.me = self


class CollectorTests(unittest.SynchronousTestCase):
    def setUp(self):
        threshold = gc.get_threshold()
        self.addCleanup(gc.set_threshold, *threshold)
        self.addCleanup(gc.unfreeze)

    def test_living_objects_are_frozen_and_a_frozen_cycle_is_freed_by_the_full_collection(self):
        clock = Clock()
        service = collector.CollectorService(freeze_every=1, full_every=60, clock=clock)
        service.startService()
        self.addCleanup(service.stopService)
        cycle = Cycle()
        alive = weakref.ref(cycle)
        clock.advance(1)  # the freezer ran: the cycle is out of the collector's view
        del cycle
        gc.collect()
        self.assertIsNotNone(alive())  # a normal collection does not see it
        clock.advance(59)  # the full collection does
        self.assertIsNone(alive())

    def test_tune_raises_the_young_threshold(self):
        collector.tune()
        self.assertEqual(gc.get_threshold()[0], 50_000)
