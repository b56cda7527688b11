"""One transaction per request, run through the handler chain under a deadline
(limits/inflight.ChainServer), and what its outcome becomes.

Knows the chain's outcomes (reply, Drop, Nak, store trouble, timeout) and turns each into a reply
or a logged drop; one structured log line per exchange, except that drops of one kind (a flood
of hostile packets) are logged a few times per period and then counted. Knows nothing of
sockets or addressing.
"""

from collections.abc import Callable

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from apidhcpd.dhcp4 import options as opt
from apidhcpd.dhcp4.handlers import Step, default_chain, nak_for
from apidhcpd.dhcp4.message import Message
from apidhcpd.dhcp4.profile import Link
from apidhcpd.dhcp4.transaction import ChainStore, Drop, Nak, Policy, Transaction
from apidhcpd.ha.monitor import PeerMonitor
from apidhcpd.limits import ratelimit
from apidhcpd.limits.clock import Clock
from apidhcpd.limits.counters import Counters as Counters  # tap.py and tests read it here
from apidhcpd.limits.inflight import MAX_PENDING as MAX_PENDING  # tests read it here
from apidhcpd.limits.inflight import ChainServer
from apidhcpd.limits.timeouts import DeadlineExceeded
from apidhcpd.store.contract import StoreUnavailable

log = Logger()


class DHCPServer(ChainServer[Transaction]):
    """Answers decoded requests: `handle(request, link)` fires with the reply Message or None.
    `counters` may be shared by the servers of several interfaces (one process, one count)."""

    def __init__(self, store: ChainStore, policy: Policy, clock: Clock, *,
                 deadline: float = 2.0, chain: list[Step] | None = None,
                 now: Callable[[], float] | None = None,
                 log_exchanges: bool = True, max_pending: int = MAX_PENDING,
                 limits: ratelimit.Limits = ratelimit.DEFAULTS,
                 counters: Counters | None = None, standby: PeerMonitor | None = None,
                 allow_allocation: bool = True):
        self.store = store
        self.policy = policy
        super().__init__(chain if chain is not None else default_chain(
            policy, store, lambda message: self._warn(message), clock, limits, standby,
            allow_allocation), clock, deadline=deadline, now=now,
            log_exchanges=log_exchanges, max_pending=max_pending, counters=counters)

    def _warn(self, message: str) -> None:
        log.warn("inventory: {message}", message=message)

    def handle(self, request: Message, link: Link) -> "defer.Deferred[Message | None]":
        """Fires with the reply Message, or None when the request gets no answer (at once
        beyond `max_pending` transactions in flight)."""
        if not self.admit():
            return defer.succeed(None)
        return self.resolve(request, link).addCallback(self._done)

    def _done(self, tx: Transaction) -> Message | None:
        self.pending -= 1
        return tx.reply

    def resolve(self, request: Message, link: Link) -> "defer.Deferred[Transaction]":
        """Fires with the whole Transaction (what was looked up, the profile, the reply or
        None): the legacy query of the HTTP API reads it."""
        return self.run(Transaction(request, link, int(self.now())))

    def _finish(self, tx: Transaction) -> None:
        reply = tx.reply
        assert reply is not None and tx.reply_type is not None  # Finish made it
        self._record(tx, opt.EXCHANGE_NAMES.get(tx.reply_type, "?").lower(), "",
                     reply.yiaddr)

    def _fail(self, tx: Transaction, failure: Failure) -> None:
        error = failure.value
        tx.reply = None
        if isinstance(error, Nak):
            reason = str(error)
            self._record(tx, "nak", reason, tx.request.requested_ip or tx.request.ciaddr)
            tx.reply = nak_for(tx, self.policy, reason)
        elif isinstance(error, Drop):
            self._record(tx, "drop", str(error), kind=error.kind)
        elif isinstance(error, (StoreUnavailable, DeadlineExceeded)):
            self._record(tx, "drop", "store: %s" % error)
        else:
            log.failure("error answering {mac}", failure, mac=tx.mac)
            self._record(tx, "drop", "internal error")

    def _record(self, tx: Transaction, outcome: str, reason: str = "", ip: str | None = None,
                kind: str = "") -> None:
        """Count the exchange and log it (ChainServer._count says whether)."""
        name = opt.EXCHANGE_NAMES.get(tx.request.message_type, "?")
        if self._count(name, outcome, kind):
            log.info("{type} from {mac} xid={xid:08x} -> {outcome} {ip} {reason}",
                     type=name, mac=tx.mac, xid=tx.request.xid, outcome=outcome,
                     ip=ip or "", reason=reason)
