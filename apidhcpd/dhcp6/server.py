"""One DHCPv6 transaction per message: run the handler chain under a deadline, wrap the reply
in the relays' RELAY-REPLs, count and log the outcome.

Knows the chain's outcomes (a reply, Drop, StatusReply, store trouble, timeout) and turns
each into a reply packet or a logged drop; one structured log line per exchange, drops of one
kind (a flood) logged a few times per period and then counted. Knows nothing of sockets.
"""

from collections.abc import Callable

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from apidhcpd.dhcp6.handlers import Step, default_chain, status_reply
from apidhcpd.dhcp6.message import Packet, relay_reply
from apidhcpd.dhcp6.options import MESSAGE_TYPE_NAMES
from apidhcpd.dhcp6.transaction import ChainStore6, Drop, Link6, Policy6, StatusReply, Transaction6
from apidhcpd.ha.monitor import PeerMonitor
from apidhcpd.limits import ratelimit
from apidhcpd.limits.clock import Clock
from apidhcpd.limits.counters import Counters
from apidhcpd.limits.ratelimit import log_left_out
from apidhcpd.limits.timeouts import DeadlineExceeded, race
from apidhcpd.store import keys
from apidhcpd.store.contract import StoreUnavailable

log = Logger()

MAX_PENDING = 2048  # transactions in flight beyond which new ones are shed (as DHCPv4's)


def type_name(kind: int) -> str:
    return MESSAGE_TYPE_NAMES.get(kind, str(kind))


class DHCP6Server:
    """Answers decoded DHCPv6 packets: `handle(packet, link, unicast)` fires with the reply
    packet (a Message, or RELAY-REPLs around one) or None. `counters` ((message type,
    outcome) -> count, ("dropped", kind) -> count) may be shared by the servers of several
    interfaces."""

    def __init__(self, store: ChainStore6, policy: Policy6, clock: Clock, *,
                 deadline: float = 2.0, chain: list[Step] | None = None,
                 now: Callable[[], float] | None = None, log_exchanges: bool = True,
                 max_pending: int = MAX_PENDING, counters: Counters | None = None,
                 standby: PeerMonitor | None = None):
        self.store = store
        self.policy = policy
        self.clock = clock
        self.deadline = deadline
        self.chain = chain if chain is not None else default_chain(
            policy, store, lambda message: self._warn(message), standby)
        self.now = now or clock.seconds
        self.counters = counters if counters is not None else Counters()
        self.log_exchanges = log_exchanges
        self.max_pending = max_pending
        self.pending = 0
        self.drop_log = ratelimit.LogLimiter(clock)  # kinds of drop: the protocol's too

    def _warn(self, message: str) -> None:
        log.warn("inventory: {message}", message=message)

    def handle(self, packet: Packet, link: Link6,
               unicast: bool = False) -> "defer.Deferred[Packet | None]":
        """Fires with the reply packet, or None when the message gets no answer; beyond
        `max_pending` transactions in flight a message is dropped at once."""
        if self.pending >= self.max_pending:
            self.counters.add(("dropped", "overloaded"))
            return defer.succeed(None)
        self.pending += 1
        return self.resolve(packet, link, unicast).addCallback(self._done)

    def _done(self, tx: Transaction6) -> Packet | None:
        self.pending -= 1
        return tx.answer

    def resolve(self, packet: Packet, link: Link6,
                unicast: bool = False) -> "defer.Deferred[Transaction6]":
        """Fires with the whole Transaction6 (what was looked up, the profile, the reply)."""
        tx = Transaction6(packet, link, int(self.now()), unicast)
        run = defer.ensureDeferred(self._run(tx))

        def finished(_: object) -> Transaction6:
            self._finish(tx)
            return tx

        def failed(f: Failure) -> Transaction6:
            self._fail(tx, f)
            return tx

        return race(run, self.deadline, self.clock, self._late).addCallbacks(finished, failed)

    def _late(self) -> DeadlineExceeded:
        return DeadlineExceeded("no answer within %.1fs" % self.deadline)

    async def _run(self, tx: Transaction6) -> None:
        for step in self.chain:
            await step(tx)

    def _finish(self, tx: Transaction6) -> None:
        assert tx.reply is not None and tx.reply_type is not None  # Finish6 made it
        tx.answer = relay_reply(tx.relays, tx.reply)
        self._record(tx, type_name(tx.reply_type).lower().replace("_", "-"),
                     " ".join(tx.values), _statuses(tx))

    def _fail(self, tx: Transaction6, failure: Failure) -> None:
        error = failure.value
        if isinstance(error, StatusReply):
            status_reply(tx, error.code, str(error))
            assert tx.reply is not None  # status_reply made it
            tx.answer = relay_reply(tx.relays, tx.reply)
            self._record(tx, "reply", reason=str(error))
        elif isinstance(error, Drop):
            kind = error.kind
            if kind:
                self.counters.add(("dropped", kind))
            self._record(tx, "drop", reason=str(error), kind=kind)
        elif isinstance(error, (StoreUnavailable, DeadlineExceeded)):
            self._record(tx, "drop", reason="store: %s" % error)
        else:
            log.failure("error answering {duid}", failure, duid=tx.duid)
            self._record(tx, "drop", reason="internal error")

    def _record(self, tx: Transaction6, outcome: str, values: str = "", reason: str = "",
                kind: str = "") -> None:
        """Count the exchange and log it; a drop of a `kind` is logged only as drop_log
        allows, with the count of those it left out."""
        name = type_name(tx.message.msg_type)
        self.counters.add((name, outcome))
        if not self.log_exchanges:
            return
        if kind:
            left_out = self.drop_log.allow(kind)
            if left_out is None:
                return
            if left_out:
                log_left_out(self.drop_log, kind, left_out)
        interface_id = tx.relay.interface_id
        log.info("DHCPv6 {type} from {duid} mac={mac} xid={xid:06x} relays={relays} "
                 "interface-id={interface_id} -> {outcome} {values} {reason}", type=name,
                 duid=tx.duid or "-", mac=tx.mac or "-", xid=tx.message.transaction_id,
                 relays=len(tx.relays), outcome=outcome, values=values, reason=reason,
                 interface_id="-" if interface_id is None else keys.id_text(interface_id))


def _statuses(tx: Transaction6) -> str:
    """The status codes of the reply (top level and per IA), for the log line."""
    found = ([tx.status] if tx.status is not None else []) + [
        ia.status for ia in tx.ias if ia.status is not None]
    return " ".join("status=%d" % s.code for s in found if s.code)
