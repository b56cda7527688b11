"""Riding out a store outage: the last answer for each client, kept in process.

Knows which answers are safe to repeat while the store cannot be reached: a reserved host's
lookup, and a dynamic client's unexpired lease (renewed for its remaining time only, so that
no client holds an address longer than the store has it recorded). New dynamic allocations
stop: no answer is better than a wrong one. Knows nothing of Redis or of packets.
"""

from collections import OrderedDict

import attr
from twisted.logger import Logger
from zope.interface import implementer

from apidhcpd.store import IAdmin, IStore, Lease, StoreUnavailable
from apidhcpd.timeouts import race

log = Logger()


@implementer(IStore, IAdmin)
class OutageCache:
    """Wraps a store; lookups that fail with StoreUnavailable are answered from the last good
    ones where that is safe. Everything else passes through to the wrapped store."""

    def __init__(self, store, clock, timeout: float = 1.0, size: int = 100_000):
        self._store = store
        self._clock = clock
        self._timeout = timeout  # a store that stops answering counts as unreachable
        self._size = size
        self._lookups = OrderedDict()  # host keys -> Lookup, least recently used first
        self._leases = {}  # mac -> Lease, the last bound one
        self.served = 0  # answers given from the cache during outages

    def __getattr__(self, name):
        return getattr(self._store, name)

    def lookup(self, keys, now, selector, intent=None):
        key = tuple(keys)  # a client's renewal (placed by ciaddr) finds its first answer too
        call = race(self._store.lookup(keys, now, selector, intent), self._timeout,
                    self._clock, lambda: StoreUnavailable("no answer within %.1fs"
                                                          % self._timeout))
        return call.addCallbacks(
            self._remember, self._fallback, callbackArgs=(key,),
            errbackArgs=(key, now, intent))

    def _remember(self, found, key):
        self._lookups[key] = found
        self._lookups.move_to_end(key)
        if len(self._lookups) > self._size:
            self._lookups.popitem(last=False)
        if found.allocation and found.allocation[0] == "bound":
            self._leases[found.allocation[1].mac] = found.allocation[1]
        return found

    def _fallback(self, failure, key, now, intent):
        failure.trap(StoreUnavailable)
        found = self._lookups.get(key)
        if found is None:
            return failure
        if found.host and found.host.reserved_ip:
            return self._serve(attr.evolve(found, allocation=None))
        lease = self._leases.get(intent.mac) if intent else None
        if lease is None or lease.expires <= now:
            return failure  # a new allocation: wait for the store
        if intent.kind == "offer":
            return self._serve(attr.evolve(found, allocation=("offered", lease.ip)))
        if intent.address != lease.ip:
            return failure
        return self._serve(attr.evolve(found, allocation=(
            "bound", Lease(lease.ip, lease.mac, "bound", lease.expires, lease.relay))))

    def _serve(self, found):
        self.served += 1
        log.info("store unreachable: answering {key} from the cache",
                 key=found.host.key if found.host else "?")
        return found
