"""race(): each call gets its own deadline, though races of one length share one timer."""

from twisted.internet import defer, task
from twisted.trial import unittest

from apidhcpd.limits.timeouts import race


class Late(Exception):
    pass


class RaceTests(unittest.TestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.outcomes = {}

    def start(self, name, seconds=2.0):
        call = defer.Deferred()
        race(call, seconds, self.clock, lambda: Late(name)).addCallbacks(
            lambda value: self.outcomes.__setitem__(name, value),
            lambda f: self.outcomes.__setitem__(name, (f.trap(Late), self.clock.seconds())))
        return call

    def test_an_answer_in_time_is_passed_on_and_leaves_no_timer(self):
        self.start("a").callback("answer")
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(10)
        self.assertEqual(self.outcomes, {"a": "answer"})

    def test_each_call_fails_at_its_own_deadline_and_its_late_answer_is_dropped(self):
        a = self.start("a")
        self.clock.advance(0.5)
        self.start("b")
        self.clock.advance(0.5)
        self.start("c").callback("c in time")
        self.clock.advance(0.99)
        self.assertEqual(self.outcomes, {"c": "c in time"})
        self.clock.advance(0.01)
        self.assertEqual(self.outcomes["a"], (Late, 2.0))
        self.assertNotIn("b", self.outcomes)
        self.clock.advance(0.5)
        self.assertEqual(self.outcomes["b"], (Late, 2.5))
        a.callback("too late")
        self.assertEqual(self.outcomes["a"], (Late, 2.0))

    def test_one_timer_serves_many_races_of_one_length(self):
        for n in range(100):
            self.start(n)
            self.clock.advance(0.01)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.clock.advance(5)
        self.assertEqual(len(self.outcomes), 100)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_races_of_other_lengths_keep_theirs(self):
        self.start("long", seconds=3.0)
        self.start("short", seconds=1.0)
        self.clock.advance(1.0)
        self.assertEqual(list(self.outcomes), ["short"])
        self.clock.advance(2.0)
        self.assertEqual(self.outcomes["long"], (Late, 3.0))

    def test_a_race_begun_when_another_expires_gets_its_full_time(self):
        def again(failure):
            self.start("second")
            return None

        call = defer.Deferred()
        race(call, 2.0, self.clock, lambda: Late("first")).addErrback(again)
        self.clock.advance(0.5)
        self.start("third")
        self.clock.advance(1.5)
        self.assertEqual(self.outcomes, {})
        self.clock.advance(0.5)
        self.assertEqual(self.outcomes["third"], (Late, 2.5))
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.clock.advance(1.49)
        self.assertNotIn("second", self.outcomes)
        self.clock.advance(0.01)
        self.assertEqual(self.outcomes["second"], (Late, 4.0))

    def test_an_answered_call_is_returned_as_it_is(self):
        answered = defer.succeed("from memory")
        self.assertIs(race(answered, 1.0, self.clock, Late), answered)
        self.assertEqual(self.clock.getDelayedCalls(), [])
