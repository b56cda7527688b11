"""One transaction per request: run the handler chain under a deadline and log the outcome.

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
from apidhcpd.limits.ratelimit import log_left_out as log_left_out  # and protocol.py this
from apidhcpd.limits.timeouts import DeadlineExceeded, race
from apidhcpd.store.contract import StoreUnavailable

log = Logger()

# Requests in flight beyond which new ones are shed: a fraction of a second of work, enough to
# ride out the tens of milliseconds a busy machine keeps the process off the CPU
# (docs/operations.md).
MAX_PENDING = 2048


class DHCPServer:
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
        self.clock = clock
        self.deadline = deadline
        self.chain = chain if chain is not None else default_chain(
            policy, store, lambda message: self._warn(message), clock, limits, standby,
            allow_allocation)
        self.now = now or clock.seconds
        self.counters = counters if counters is not None else Counters()
        self.log_exchanges = log_exchanges
        self.max_pending = max_pending
        self.pending = 0
        self.drop_log = ratelimit.LogLimiter(clock)  # kinds of drop: the protocol's too

    def _warn(self, message: str) -> None:
        log.warn("inventory: {message}", message=message)

    def handle(self, request: Message, link: Link) -> "defer.Deferred[Message | None]":
        """Fires with the reply Message, or None when the request gets no answer. Beyond
        `max_pending` transactions in flight a request is dropped at once: under overload
        the server sheds load instead of answering everyone too late for the clients."""
        if self.pending >= self.max_pending:
            self.counters.add(("dropped", "overloaded"))
            return defer.succeed(None)
        self.pending += 1
        return self.resolve(request, link).addCallback(self._done)

    def _done(self, tx: Transaction) -> Message | None:
        self.pending -= 1
        return tx.reply

    def resolve(self, request: Message, link: Link) -> "defer.Deferred[Transaction]":
        """Fires with the whole Transaction (what was looked up, the profile, the reply or
        None): the legacy query of the HTTP API reads it."""
        tx = Transaction(request, link, int(self.now()))
        run = defer.ensureDeferred(self._run(tx))

        def finished(_: object) -> Transaction:
            self._finish(tx)
            return tx

        def failed(f: Failure) -> Transaction:
            tx.reply = self._fail(tx, f)
            return tx

        return race(run, self.deadline, self.clock, self._late).addCallbacks(finished, failed)

    def _late(self) -> DeadlineExceeded:
        return DeadlineExceeded("no answer within %.1fs" % self.deadline)

    async def _run(self, tx: Transaction) -> None:
        for step in self.chain:
            await step(tx)

    def _finish(self, tx: Transaction) -> Message:
        reply = tx.reply
        assert reply is not None and tx.reply_type is not None  # Finish made it
        self._record(tx, opt.EXCHANGE_NAMES.get(tx.reply_type, "?").lower(), "",
                     reply.yiaddr)
        return reply

    def _fail(self, tx: Transaction, failure: Failure) -> Message | None:
        error = failure.value
        if isinstance(error, Nak):
            reason = str(error)
            self._record(tx, "nak", reason, tx.request.requested_ip or tx.request.ciaddr)
            return nak_for(tx, self.policy, reason)
        if isinstance(error, Drop):
            kind = error.kind
            if kind:
                self.counters.add(("dropped", kind))
            self._record(tx, "drop", str(error), kind=kind)
        elif isinstance(error, (StoreUnavailable, DeadlineExceeded)):
            self._record(tx, "drop", "store: %s" % error)
        else:
            log.failure("error answering {mac}", failure, mac=tx.mac)
            self._record(tx, "drop", "internal error")
        return None

    def _record(self, tx: Transaction, outcome: str, reason: str = "", ip: str | None = None,
                kind: str = "") -> None:
        """Count the exchange and log it; a drop of a `kind` is logged only as drop_log
        allows, with the count of those it left out."""
        name = opt.EXCHANGE_NAMES.get(tx.request.message_type, "?")
        self.counters.add((name, outcome))
        if not self.log_exchanges:
            return
        if kind:
            left_out = self.drop_log.allow(kind)
            if left_out is None:
                return
            if left_out:
                log_left_out(self.drop_log, kind, left_out)
        log.info("{type} from {mac} xid={xid:08x} -> {outcome} {ip} {reason}",
                 type=name, mac=tx.mac, xid=tx.request.xid, outcome=outcome,
                 ip=ip or "", reason=reason)

