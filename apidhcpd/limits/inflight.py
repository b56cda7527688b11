"""What both DHCP servers do with a transaction, whatever the protocol: run it through a chain of
handler steps under a deadline, keep at most `max_pending` in flight (shedding the rest, counted
`overloaded`), count each outcome, and log drops of one kind only as often as the drop log
allows. Knows nothing of DHCP: a subclass (dhcp4/server.py, dhcp6/server.py) says what a
finished and a failed transaction become (`_finish`, `_fail`) and writes the log lines.
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from twisted.internet import defer
from twisted.python.failure import Failure

from apidhcpd.limits.clock import Clock
from apidhcpd.limits.counters import Counters
from apidhcpd.limits.ratelimit import LogLimiter, log_left_out
from apidhcpd.limits.timeouts import DeadlineExceeded, race

TX = TypeVar("TX")

# Transactions in flight beyond which new ones are shed: a fraction of a second of work, enough
# to ride out the tens of milliseconds a busy machine keeps the process off the CPU
# (docs/operations.md).
MAX_PENDING = 2048


class ChainServer(Generic[TX]):
    """Runs transactions of type TX through `chain`; `counters` may be shared by the servers
    of several interfaces (one process, one count)."""

    def __init__(self, chain: Sequence[Callable[[TX], Awaitable[None]]], clock: Clock, *,
                 deadline: float, now: Callable[[], float] | None, log_exchanges: bool,
                 max_pending: int, counters: Counters | None):
        self.chain = chain
        self.clock = clock
        self.deadline = deadline
        self.now = now or clock.seconds
        self.counters = counters if counters is not None else Counters()
        self.log_exchanges = log_exchanges
        self.max_pending = max_pending
        self.pending = 0
        self.drop_log = LogLimiter(clock)  # kinds of drop: the protocols' too

    def admit(self) -> bool:
        """One more transaction in flight; False (counted) when `max_pending` are: under
        overload the server sheds load instead of answering everyone too late."""
        if self.pending >= self.max_pending:
            self.counters.add(("dropped", "overloaded"))
            return False
        self.pending += 1
        return True

    def run(self, tx: TX) -> "defer.Deferred[TX]":
        """Fires with `tx` once the chain has finished it (`_finish`), or failed or overran
        the deadline (`_fail`)."""
        def finished(_: object) -> TX:
            self._finish(tx)
            return tx

        def failed(f: Failure) -> TX:
            self._fail(tx, f)
            return tx

        return race(defer.ensureDeferred(self._steps(tx)), self.deadline, self.clock,
                    self._late).addCallbacks(finished, failed)

    def _late(self) -> DeadlineExceeded:
        return DeadlineExceeded("no answer within %.1fs" % self.deadline)

    async def _steps(self, tx: TX) -> None:
        for step in self.chain:
            await step(tx)

    def _finish(self, tx: TX) -> None:
        raise NotImplementedError

    def _fail(self, tx: TX, failure: Failure) -> None:
        raise NotImplementedError

    def may_log(self, kind: str) -> bool:
        """May a line of this kind of drop be written now (the drop log's allowance, shared
        with the protocol's own drops)? After the line that says how many it left out."""
        left_out = self.drop_log.allow(kind)
        if left_out:
            log_left_out(self.drop_log, kind, left_out)
        return left_out is not None

    def _count(self, name: str, outcome: str, kind: str = "") -> bool:
        """Count the exchange (and a drop's `kind`); True when its log line is to be written:
        exchanges are logged, and a drop of a kind only as may_log allows."""
        self.counters.add((name, outcome))
        if kind:
            self.counters.add(("dropped", kind))
        return self.log_exchanges and (not kind or self.may_log(kind))
