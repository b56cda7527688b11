"""One DHCPv6 transaction per message, run through the handler chain under a deadline
(limits/inflight.ChainServer): wrap the reply in the relays' RELAY-REPLs, count and log the
outcome.

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
from apidhcpd.limits.inflight import MAX_PENDING, ChainServer
from apidhcpd.limits.timeouts import DeadlineExceeded
from apidhcpd.store import keys
from apidhcpd.store.contract import StoreUnavailable

log = Logger()



def type_name(kind: int) -> str:
    return MESSAGE_TYPE_NAMES.get(kind, str(kind))


class DHCP6Server(ChainServer[Transaction6]):
    """Answers decoded DHCPv6 packets: `handle(packet, link, unicast)` fires with the reply
    packet (a Message, or RELAY-REPLs around one) or None. `counters` ((message type,
    outcome) -> count, ("dropped", kind) -> count) may be shared by the servers of several
    interfaces."""

    def __init__(self, store: ChainStore6, policy: Policy6, clock: Clock, *,
                 deadline: float = 2.0, chain: list[Step] | None = None,
                 now: Callable[[], float] | None = None, log_exchanges: bool = True,
                 max_pending: int = MAX_PENDING, counters: Counters | None = None,
                 standby: PeerMonitor | None = None,
                 limits: ratelimit.Limits | None = ratelimit.DEFAULTS,
                 allow_allocation: bool = True):
        self.store = store
        self.policy = policy
        super().__init__(chain if chain is not None else default_chain(
            policy, store, lambda message: self._warn(message), standby, clock, limits,
            allow_allocation), clock, deadline=deadline, now=now,
            log_exchanges=log_exchanges, max_pending=max_pending, counters=counters)

    def _warn(self, message: str) -> None:
        log.warn("inventory: {message}", message=message)

    def handle(self, packet: Packet, link: Link6,
               unicast: bool = False) -> "defer.Deferred[Packet | None]":
        """Fires with the reply packet, or None when the message gets no answer (at once
        beyond `max_pending` transactions in flight)."""
        if not self.admit():
            return defer.succeed(None)
        return self.resolve(packet, link, unicast).addCallback(self._done)

    def _done(self, tx: Transaction6) -> Packet | None:
        self.pending -= 1
        return tx.answer

    def resolve(self, packet: Packet, link: Link6,
                unicast: bool = False) -> "defer.Deferred[Transaction6]":
        """Fires with the whole Transaction6 (what was looked up, the profile, the reply)."""
        return self.run(Transaction6(packet, link, int(self.now()), unicast))

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
            self._record(tx, "drop", reason=str(error), kind=error.kind)
        elif isinstance(error, (StoreUnavailable, DeadlineExceeded)):
            self._record(tx, "drop", reason="store: %s" % error)
        else:
            log.failure("error answering {duid}", failure, duid=tx.duid)
            self._record(tx, "drop", reason="internal error")

    def _record(self, tx: Transaction6, outcome: str, values: str = "", reason: str = "",
                kind: str = "") -> None:
        """Count the exchange and log it (ChainServer._count says whether)."""
        name = type_name(tx.message.msg_type)
        if not self._count(name, outcome, kind):
            return
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
