"""A deadline on a Deferred without cancelling it.

txredisapi answers in order on each connection: cancelling a call that is waiting for its reply
would leave that reply to the next caller. So a deadline here races the call instead: the
caller gets an error at the deadline, and the call's own late result is dropped.

The packet path races two calls per message. Races of one clock and one length end in the
order they began, so they share one timer, set for the oldest (_Deadlines), instead of
scheduling and cancelling a timer each.
"""

import collections
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from twisted.internet import defer
from twisted.python.failure import Failure

from apidhcpd.limits.clock import Clock, DelayedCall

T = TypeVar("T")
# [deadline, result, error]; result and error None once the race is over
Entry = list[Any]

class DeadlineExceeded(Exception):
    """A transaction found no answer within its deadline."""


_by_clock: "weakref.WeakKeyDictionary[Clock, dict[float, _Deadlines]]" = \
    weakref.WeakKeyDictionary()  # clock -> {seconds: _Deadlines}


class _Deadlines:
    """The unfinished races of one clock and one length, oldest first."""

    def __init__(self, clock: Clock, seconds: float):
        self.clock = clock
        self.seconds = seconds
        self.pending: collections.deque[Entry] = collections.deque()
        self.timer: DelayedCall | None = None
        self.expiring = False

    def add(self, result: "defer.Deferred[Any]", error: Callable[[], BaseException]) -> Entry:
        entry = [self.clock.seconds() + self.seconds, result, error]
        self.pending.append(entry)
        if self.timer is None and not self.expiring:
            self.timer = self.clock.callLater(self.seconds, self._expire)
        return entry

    def finish(self, entry: Entry) -> None:
        """The race of `entry` is over: drop the finished ones from the front, and the timer
        when none is left (a reactor with no races leaves no timer behind)."""
        entry[1] = entry[2] = None
        pending = self.pending
        while pending and pending[0][1] is None:
            pending.popleft()
        if not pending and self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _expire(self) -> None:
        """Fail the races whose deadline has passed; the timer moves on to the oldest left."""
        self.timer, self.expiring = None, True
        try:
            now, pending = self.clock.seconds(), self.pending
            while pending:
                deadline, result, error = pending[0]
                if result is not None and deadline > now:
                    self.timer = self.clock.callLater(deadline - now, self._expire)
                    return
                pending.popleft()
                if result is not None:
                    result.errback(error())
        finally:
            self.expiring = False


def race(d: "defer.Deferred[T]", seconds: float, clock: Clock,
         error: Callable[[], BaseException]) -> "defer.Deferred[T]":
    """d's result, or `error()` as a failure after `seconds`, whichever comes first."""
    if d.called and not d.paused:
        return d  # answered already (from memory): nothing to race
    result: defer.Deferred[T] = defer.Deferred()
    queues = _by_clock.get(clock)
    if queues is None:
        queues = _by_clock[clock] = {}
    deadlines = queues.get(seconds)
    if deadlines is None:
        deadlines = queues[seconds] = _Deadlines(clock, seconds)
    entry = deadlines.add(result, error)

    def done(value: T | Failure) -> None:
        deadlines.finish(entry)
        if not result.called:
            if isinstance(value, Failure):
                result.errback(value)
            else:
                result.callback(value)
        return None  # a late result (or failure) after the deadline is dropped here

    d.addBoth(done)
    return result
