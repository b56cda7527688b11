"""A RedisStore connected to a test redis-server, for trial tests."""

from twisted.internet import defer, reactor

from apidhcpd.store.redis import RedisStore, RedisURL


@defer.inlineCallbacks
def connected_store(testcase, redis_server, url=None, **kwargs):
    """A RedisStore on `redis_server` (or at `url`), connected (bounded wait) and closed by
    addCleanup."""
    store = RedisStore(RedisURL.parse(url or redis_server.url), reactor, **kwargs)
    store.connect()
    testcase.addCleanup(store.disconnect)
    for _ in range(250):
        if store.connected:
            return store
        yield sleep(0.02)
    raise AssertionError("no connection to the test redis-server")


def sleep(seconds):
    d = defer.Deferred()
    reactor.callLater(seconds, d.callback, None)
    return d
