"""The handler steps that may stop a request before it costs the store anything: the rate
limits (RateLimit) and the standby's rules (StandbyFilter, StandbyAllocation)."""

from apidhcpd.dhcp4 import options as opt
from apidhcpd.dhcp4.relay import SubOption
from apidhcpd.dhcp4.transaction import ChainStore, Drop, Transaction
from apidhcpd.ha.monitor import PeerMonitor
from apidhcpd.limits.clock import Clock
from apidhcpd.limits.ratelimit import CIRCUITS_CAP, CLIENTS_CAP, Buckets, Limits


class RateLimit:
    """A handler step, after CheckRequest: a client (chaddr) may send `limits.client`, and a
    relay circuit, by giaddr and circuit-id or remote-id, may bring `limits.circuit` new
    clients (DISCOVER, INIT-REBOOT). Over the limit the request is dropped and counted."""

    def __init__(self, limits: Limits, clock: Clock):
        self.clock = clock
        self.clients = Buckets(limits.client, CLIENTS_CAP) if limits.client else None
        self.circuits = Buckets(limits.circuit, CIRCUITS_CAP) if limits.circuit else None

    async def __call__(self, tx: Transaction) -> None:
        request = tx.request
        now = self.clock.seconds()
        if self.clients is not None and not self.clients.allow(request.chaddr, now):
            raise Drop("client over its rate limit", kind="rate-limited-client")
        relay = tx.relay
        if self.circuits is None or (relay.circuit_id is None and relay.remote_id is None):
            return
        if request.message_type != opt.DISCOVER and tx.state != "INIT-REBOOT":
            return
        for code, value in ((SubOption.CIRCUIT_ID, relay.circuit_id),
                            (SubOption.REMOTE_ID, relay.remote_id)):
            if value is not None and not self.circuits.allow((request.giaddr, code, value), now):
                raise Drop("relay %s %s %s over its rate limit of new clients"
                           % (request.giaddr,
                              "circuit-id" if code == SubOption.CIRCUIT_ID else "remote-id",
                              value[:64].hex()), kind="rate-limited-circuit")


class StandbyFilter:
    """First in the chain of a standby: silent while the master is alive."""

    def __init__(self, monitor: PeerMonitor):
        self.monitor = monitor

    async def __call__(self, tx: Transaction) -> None:
        if self.monitor.master_alive:
            raise Drop("standby: the master is alive", kind="standby")


class StandbyAllocation:
    """Before allocation on a standby without --allow-slave: a dynamic client is served only
    with the lease it already holds (renewals, reboots); no new addresses are handed out."""

    def __init__(self, store: ChainStore):
        self.store = store

    async def __call__(self, tx: Transaction) -> None:
        assert tx.lookup is not None  # ClientLookup ran
        host = tx.lookup.host
        if (host and host.reserved_ip) or tx.request.message_type not in (opt.DISCOVER,
                                                                        opt.REQUEST):
            return
        lease = await self.store.lease_of(tx.mac, tx.now)
        if lease is None:
            raise Drop("standby without --allow-slave: no new dynamic address for %s" % tx.mac,
                       kind="standby-no-allocation")
