"""A deadline on a Deferred without cancelling it.

txredisapi answers in order on each connection: cancelling a call that is waiting for its reply
would leave that reply to the next caller. So a deadline here races the call instead: the
caller gets an error at the deadline, and the call's own late result is dropped.
"""

from twisted.internet import defer
from twisted.python.failure import Failure


def race(d: defer.Deferred, seconds: float, clock, error) -> defer.Deferred:
    """d's result, or `error()` as a failure after `seconds`, whichever comes first."""
    if d.called and not d.paused:
        return d  # answered already (from memory): nothing to race
    result = defer.Deferred()
    timer = clock.callLater(seconds, lambda: result.called or result.errback(error()))

    def done(value):
        if timer.active():
            timer.cancel()
        if not result.called:
            (result.errback if isinstance(value, Failure) else result.callback)(value)
        return None  # a late result (or failure) after the deadline is dropped here

    d.addBoth(done)
    return result
