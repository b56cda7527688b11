"""Riding out a store outage for DHCPv6: the half of OutageCache (outage.py) that answers the
IStore6 calls, by DHCPv4's rules.

Knows which DHCPv6 answers are safe to repeat while the store cannot be reached: a client's
last lookup6 answer (host, group, subnet6:, classes), kept per DUID as DHCPv4's is per MAC,
while the client holds a reservation (for `answer_ttl`) or an unexpired lease; and the leases
it holds (what leases6_of, bind6 and the commits returned, bound). A SOLICIT, REQUEST,
RENEW or REBIND of the value an IA holds is answered for the lease's remaining time only, so
no client holds a value longer than the store has it recorded; a host's reservation
(commit6_reserved) is answered with its lifetimes, as DHCPv4 answers a reserved host.
Anything else (offer6 or bind6 of a new value, leases6_of for a client it knows no lease of)
waits for the store; an IA a client renews beside those kept, which it knows no lease of,
is answered NoBinding (the client then asks with a REQUEST, which waits). Knows nothing of
Redis or of packets.

After a call found the store unreachable (it failed, or did not answer within `timeout`), the
calls of the next `timeout` seconds other than lookup6 go straight to what is kept: a store
that hangs costs a message one timeout, not one per call. lookup6 always asks.

Bounded (bounded.py), as the DHCPv4 maps: one answer and one set of leases per DUID, kept
only while they can serve (a reservation's answer for `answer_ttl`, the rest until the last
lease ends), the least recently seen going first; a RELEASE or DECLINE ends what was kept of
the lease. The lookup of a client that holds nothing yet waits, for PENDING_TTL, in a map a
tenth of the size, to become its answer when its first lease is bound: a flood of SOLICITs
pushes out only such waiting lookups, never a kept answer.
"""

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from apidhcpd.inventory import allocation6
from apidhcpd.limits.bounded import BoundedMap
from apidhcpd.limits.clock import Clock
from apidhcpd.limits.timeouts import race
from apidhcpd.store import keys
from apidhcpd.store.contract import Lookup, StoreUnavailable
from apidhcpd.store.contract6 import Conflict6, IAKey, Lease6, Source6, reserved_host6

T = TypeVar("T")
LEASE6_BYTES = 150  # what a kept lease costs besides its value, roughly
PENDING_TTL = 60  # seconds a lookup waits for its client's first lease (a message takes 2)
Held = dict[tuple[str, int], Lease6]  # (kind, IAID) -> the IA's bound lease


def duid_key(host_keys: Sequence[str]) -> str | None:
    """The `duid:` key among a lookup6's keys (a message without a client id has none)."""
    for key in host_keys:
        if key.startswith(keys.DUID):
            return key
    return None


class Outage6:
    """The IStore6 calls of OutageCache; everything else of IStore6 passes through."""

    _store: Any
    _clock: Clock
    _timeout: float
    answer_ttl: int
    _kept: Callable[[Lookup, tuple[str, ...], bool], tuple[Any, int]]
    _serve: Callable[[Lookup, str], Lookup]

    def _init6(self, size: int, max_bytes: int) -> None:
        self._answers6 = BoundedMap(size, max_bytes)  # "duid:<hex>" -> Answer
        self._leases6 = BoundedMap(size, max_bytes // 2)  # "duid:<hex>" -> Held
        # "duid:<hex>" -> (Answer, size): a lookup whose client holds nothing (yet)
        self._pending6 = BoundedMap(max(1, size // 10), max(1, max_bytes // 10))
        self._unreachable_at: float | None = None

    # asking the store

    def _ask6(self, call: "Deferred[T]") -> "Deferred[T]":
        """A call raced against the timeout; its outcome says whether the store is reachable."""
        raced: Deferred[T] = race(call, self._timeout, self._clock, lambda: StoreUnavailable(
            "no answer within %.1fs" % self._timeout))
        return raced.addCallbacks(self._reached, self._missed)

    def _reached(self, result: T) -> T:
        self._unreachable_at = None
        return result

    def _missed(self, failure: Failure) -> Failure:
        if isinstance(failure.value, StoreUnavailable):
            self._unreachable_at = self._clock.seconds()
        return failure

    def _call6(self, name: str, *args: Any) -> "Deferred[Any]":
        at = self._unreachable_at
        if at is not None and self._clock.seconds() - at < self._timeout:
            return defer.fail(StoreUnavailable("unreachable %.1fs ago"
                                               % (self._clock.seconds() - at)))
        return self._ask6(getattr(self._store, name)(*args))

    # what is kept

    def _held6(self, key: str, now: int) -> Held:
        """The unexpired bound leases kept of the client with this `duid:` key."""
        held: Held | None = self._leases6.get(key, now)
        return {ia: lease for ia, lease in held.items() if lease.expires > now} if held else {}

    def _hold6(self, key: str, held: Held, now: int) -> None:
        """Keep these leases of a client, and its answer as long as they last: the lookup
        waiting for them, if any, becomes its answer."""
        if not held:
            self._leases6.pop(key)
            return
        expires = max(lease.expires for lease in held.values())
        size = len(key) + sum(LEASE6_BYTES + len(lease.value) for lease in held.values())
        self._leases6.put(key, held, size, expires, now)
        answer = self._answers6.entries.get(key)
        pending = self._pending6.pop(key)
        if pending is not None:
            value, size = pending
            self._answers6.put(key, value, size, max(expires, answer[2] if answer else 0),
                               now)
        elif answer is not None:
            answer[2] = max(answer[2], expires)

    def _bound6(self, lease: Lease6, now: int) -> Lease6:
        """A lease the store bound: kept."""
        if lease.state == "bound" and lease.expires > now:
            key = keys.duid(lease.ia.duid)
            held = self._held6(key, now)
            held[(lease.ia.kind, lease.ia.iaid)] = lease
            self._hold6(key, held, now)
        return lease

    def _forget6(self, ia: IAKey, value: str, now: int) -> None:
        """The IA no longer holds `value` (released, declined, another's): neither is it kept;
        nor the client's answer, when it holds nothing else and has no reservation."""
        key = keys.duid(ia.duid)
        held = self._held6(key, now)
        lease = held.get((ia.kind, ia.iaid))
        if lease is None or lease.value != allocation6.canonical(value):
            return
        del held[(ia.kind, ia.iaid)]
        self._hold6(key, held, now)
        answer = self._answers6.entries.get(key)
        if not held and answer is not None and not answer[0][7]:
            self._answers6.pop(key)

    def _lease6(self, ia: IAKey, now: int) -> Lease6 | None:
        return self._held6(keys.duid(ia.duid), now).get((ia.kind, ia.iaid))

    @staticmethod
    def _unavailable(failure: Failure) -> bool:
        return isinstance(failure.value, StoreUnavailable)

    # IStore6

    def lookup6(self, host_keys: Sequence[str], now: int, selector: str) -> Deferred[Lookup]:
        key = tuple(host_keys)
        call: Deferred[Lookup] = self._ask6(self._store.lookup6(host_keys, now, selector))
        return call.addCallbacks(self._remember6, self._fallback6, callbackArgs=(key, now),
                                 errbackArgs=(key, now))

    def _remember6(self, found: Lookup, key: tuple[str, ...], now: int) -> Lookup:
        duid = duid_key(key)
        if duid is None:
            return found
        reserved = reserved_host6(found.host)
        held = self._held6(duid, now)
        if not reserved and not held:
            value, size = self._kept(found, key, False)
            self._pending6.put(duid, (value, size), size, now + PENDING_TTL, now)
            return found
        expires = max([lease.expires for lease in held.values()]
                      + ([now + self.answer_ttl] if reserved else []))
        value, size = self._kept(found, key, reserved)
        self._answers6.put(duid, value, size, expires, now)
        if held:
            self._leases6.touch(duid)  # seen: the least recently seen go first
        return found

    def _fallback6(self, failure: Failure, key: tuple[str, ...],
                   now: int) -> Lookup | Failure:
        duid = duid_key(key)
        if not self._unavailable(failure) or duid is None:
            return failure
        entry = self._answers6.get(duid, now)
        if entry is None or entry[0] != key or not (entry[7] or self._held6(duid, now)):
            return failure
        _, host, name, subnet, group, default, subnet_fields, _, classes = entry
        return self._serve(Lookup(host, name, group, default, subnet, subnet_fields,
                                  classes=classes), duid)

    def leases6_of(self, duid: str, now: int) -> Deferred[list[Lease6]]:
        key = keys.duid(duid)

        def learned(leases: list[Lease6]) -> list[Lease6]:
            self._hold6(key, {(lease.ia.kind, lease.ia.iaid): lease for lease in leases
                              if lease.state == "bound" and lease.expires > now}, now)
            return leases

        def kept(failure: Failure) -> list[Lease6] | Failure:
            held = self._held6(key, now)
            if not self._unavailable(failure) or not held:
                return failure  # an empty list would say NoBinding: not known
            return list(held.values())

        return self._call6("leases6_of", duid, now).addCallbacks(learned, kept)

    def offer6(self, ia: IAKey, source: Source6, hints: Sequence[str], now: int,
               hold: int) -> Deferred[Lease6 | None]:
        def kept(failure: Failure) -> Lease6 | Failure:
            lease = self._lease6(ia, now)
            if not self._unavailable(failure) or lease is None \
                    or not allocation6.in_source(lease.value, source):
                return failure  # a new value: wait for the store
            return lease

        def offered(lease: Lease6 | None) -> Lease6 | None:
            return self._bound6(lease, now) if lease is not None else None

        return self._call6("offer6", ia, source, hints, now, hold).addCallbacks(offered, kept)

    def commit6(self, ia: IAKey, value: str, source: Source6, valid: int, now: int,
                mac: str = "") -> Deferred[Lease6]:
        def kept(failure: Failure) -> Lease6 | Failure:
            if isinstance(failure.value, Conflict6):
                self._forget6(ia, value, now)
            lease = self._lease6(ia, now)
            if not self._unavailable(failure) or lease is None \
                    or lease.value != allocation6.canonical(value) \
                    or not allocation6.in_source(lease.value, source):
                return failure
            return lease  # its remaining time only

        return self._call6("commit6", ia, value, source, valid, now, mac).addCallbacks(
            self._bound6, kept, callbackArgs=(now,))

    def bind6(self, ia: IAKey, source: Source6, hints: Sequence[str], valid: int, now: int,
              mac: str = "") -> Deferred[Lease6 | None]:
        def kept(failure: Failure) -> Lease6 | Failure:
            lease = self._lease6(ia, now)
            if isinstance(failure.value, Conflict6) and lease is not None:
                self._forget6(ia, lease.value, now)  # what it held first is another's now
            if not self._unavailable(failure) or lease is None \
                    or not allocation6.in_source(lease.value, source):
                return failure  # a new value: wait for the store
            return lease  # the value it holds, for its remaining time only

        def bound(lease: Lease6 | None) -> Lease6 | None:
            return self._bound6(lease, now) if lease is not None else None

        return self._call6("bind6", ia, source, hints, valid, now, mac).addCallbacks(bound,
                                                                                      kept)

    def commit6_reserved(self, ia: IAKey, value: str, valid: int,
                         now: int) -> Deferred[Lease6]:
        def kept(failure: Failure) -> Lease6 | Failure:
            if isinstance(failure.value, Conflict6):
                self._forget6(ia, value, now)
            answer = self._answers6.get(keys.duid(ia.duid), now)
            canonical = allocation6.canonical(value)
            if not self._unavailable(failure) or answer is None or answer[1] is None \
                    or canonical not in allocation6.reservations6(answer[1].fields):
                return failure
            return Lease6(ia, canonical, "bound", now + valid)  # the host's, as in DHCPv4

        return self._call6("commit6_reserved", ia, value, valid, now).addCallbacks(
            self._bound6, kept, callbackArgs=(now,))

    def release6(self, ia: IAKey, value: str, now: int) -> Deferred[bool]:
        self._forget6(ia, value, now)
        released: Deferred[bool] = self._store.release6(ia, value, now)
        return released

    def decline6(self, ia: IAKey, value: str, now: int, probation: int) -> Deferred[bool]:
        self._forget6(ia, value, now)
        declined: Deferred[bool] = self._store.decline6(ia, value, now, probation)
        return declined
