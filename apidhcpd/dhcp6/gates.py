"""The DHCPv6 handler steps that may stop a message before the store does its work: the rate
limits (RateLimit6, DHCPv4's rules: limits/ratelimit.py), the standby's silence
(StandbyFilter6), and a standby's hold on new values (StandbyAllocation6), as dhcp4/gates.py
has them for DHCPv4."""

from apidhcpd.dhcp6.ia import IA_TA
from apidhcpd.dhcp6.lease import KINDS, reserved_value
from apidhcpd.dhcp6.options import MessageType as T
from apidhcpd.dhcp6.transaction import ChainStore6, Drop, Transaction6
from apidhcpd.ha.monitor import PeerMonitor
from apidhcpd.limits.clock import Clock
from apidhcpd.limits.ratelimit import CIRCUITS_CAP, CLIENTS_CAP, Buckets, Limits

# RFC 8415 11.1: a DUID is at most 130 octets with its type; what a key holds of one (and of a
# relay id) is capped, so that a table's memory is bounded whatever the client sends
DUID_MAX, RELAY_ID_MAX = 130, 64


class RateLimit6:
    """After CheckMessage: a client (its DUID) may send `limits.client`, and a relay port, by
    the nearest relay's interface-id or remote-id, may bring `limits.circuit` new clients
    (SOLICIT). Over the limit the message is dropped and counted."""

    def __init__(self, limits: Limits, clock: Clock):
        self.clock = clock
        self.clients = Buckets(limits.client, CLIENTS_CAP) if limits.client else None
        self.circuits = Buckets(limits.circuit, CIRCUITS_CAP) if limits.circuit else None

    async def __call__(self, tx: Transaction6) -> None:
        now = self.clock.seconds()
        client = tx.message.client_id or b""
        if self.clients is not None and not self.clients.allow(client[:DUID_MAX], now):
            raise Drop("client over its rate limit", kind="rate-limited-client")
        relay = tx.relay
        if self.circuits is None or tx.message.msg_type != T.SOLICIT:
            return
        for name, value in (("interface-id", relay.interface_id),
                            ("remote-id", relay.remote_id)):
            if value is not None and not self.circuits.allow(
                    (relay.link_address, name, value[:RELAY_ID_MAX]), now):
                raise Drop("relay %s %s %s over its rate limit of new clients"
                           % (relay.link_address, name, value[:RELAY_ID_MAX].hex()),
                           kind="rate-limited-circuit")


class StandbyFilter6:
    """First in the chain of a standby: silent while the master is alive."""

    def __init__(self, monitor: PeerMonitor):
        self.monitor = monitor

    async def __call__(self, tx: Transaction6) -> None:
        if self.monitor.master_alive:
            raise Drop("standby: the master is alive", kind="standby")


class StandbyAllocation6:
    """Before Leases6 on a standby without --allow-slave (DHCPv4's StandbyAllocation): a
    SOLICIT or REQUEST is served only when each of its IAs already holds a value (its lease,
    offered or bound, or the host's reservation); renewals, rebinds and what allocates
    nothing pass. No new address or prefix is handed out."""

    def __init__(self, store: ChainStore6):
        self.store = store

    async def __call__(self, tx: Transaction6) -> None:
        if tx.message.msg_type not in (T.SOLICIT, T.REQUEST):
            return
        wanted = []
        for ia in tx.client_ias:
            try:
                reserved = reserved_value(tx, ia)
            except ValueError:
                reserved = None
            if ia.code != IA_TA and reserved is None:
                wanted.append((KINDS[ia.code], ia.iaid))
        if not wanted:
            return
        leases = await self.store.leases6_of(tx.duid, tx.now)
        held = {(lease.ia.kind, lease.ia.iaid) for lease in leases}
        if any(ia not in held for ia in wanted):
            raise Drop("standby without --allow-slave: no new value for %s" % tx.duid,
                       kind="standby-no-allocation")
