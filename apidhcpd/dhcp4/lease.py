"""The handler steps that find the client in the inventory and decide its address:
ClientLookup (the store lookup, with the allocation it may carry) and LeaseAllocation
(RFC 2131 4.3.1/4.3.2: which address is offered, acknowledged or refused; a BOOTP request,
RFC 951, gets its reservation or nothing)."""

from collections.abc import Awaitable, Callable

from apidhcpd.dhcp4 import options as opt
from apidhcpd.dhcp4 import relay as relays
from apidhcpd.dhcp4.message import Message
from apidhcpd.dhcp4.transaction import ZERO, ChainStore, Drop, Nak, Policy, Transaction
from apidhcpd.store import keys
from apidhcpd.store.contract import (
    AddressSource,
    Bound,
    CommitIntent,
    Conflict,
    Holds,
    Intent,
    Lease,
    Offered,
    OfferIntent,
    Refused,
    StoreUnavailable,
    source_of,
)


class ClientLookup:
    """Find the host and the subnet (host_keys() gives the order). The store is told what
    allocation comes next (an Intent), so that it can do both in one round trip; `allocate`
    is switched off where allocation needs a check between the two (a standby's)."""

    def __init__(self, store: ChainStore, policy: Policy, allocate: bool = True):
        self.store = store
        self.policy = policy
        self.allocate = allocate

    async def __call__(self, tx: Transaction) -> None:
        tx.lookup = await self.store.lookup(host_keys(tx.request, tx.relay), tx.now, tx.selector,
                                            self._intent(tx) if self.allocate else None)

    def _intent(self, tx: Transaction) -> Intent | None:
        kind = tx.request.message_type
        if kind == opt.DISCOVER:
            return OfferIntent(tx.mac, tx.request.requested_ip or "", self.policy.offer_hold,
                               tx.facts)
        if kind == opt.REQUEST and tx.wanted:
            return CommitIntent(tx.mac, tx.wanted, state=tx.state,
                                client=tx.request.hostname or "",
                                relay=tx.request.relay_agent_info or b"", facts=tx.facts)
        return None


def host_keys(request: Message, relay: relays.RelayInfo) -> list[str]:
    """`client:<option 61 as hex>`, `client:<host name>` (the seed's id), `mac:<mac>`, then
    the relay's `relay:<circuit-id>` and `remote:<remote-id>` (a switch port's reservation)."""
    found = [keys.client(i) for i in (request.client_id_hex, request.hostname) if i]
    found.append(keys.mac(request.mac))
    if relay.circuit_id:
        found.append(keys.relay(relays.id_key(relay.circuit_id)))
    if relay.remote_id:
        found.append(keys.remote(relays.id_key(relay.remote_id)))
    return found


class LeaseAllocation:
    """Decide the client's address per message type and client state (RFC 2131 4.3)."""

    def __init__(self, policy: Policy, store: ChainStore,
                 warn: Callable[[str], object] = lambda message: None):
        self.policy = policy
        self.store = store
        self.warn = warn

    async def __call__(self, tx: Transaction) -> None:
        handlers: dict[int | None, Callable[[Transaction], Awaitable[None]]] = {
            opt.DISCOVER: self.discover, opt.REQUEST: self.request, opt.DECLINE: self.decline,
            opt.RELEASE: self.release, opt.INFORM: self.inform, None: self.bootp}
        # CheckRequest lets only these types through (None: BOOTP)
        await handlers[tx.request.message_type](tx)

    def _source(self, tx: Transaction) -> AddressSource:
        """Where the client's address comes from: the same rules the stores apply when they
        allocate in the lookup's round trip (inventory/rules.py)."""
        assert tx.lookup is not None  # ClientLookup ran
        return source_of(tx.lookup, tx.facts)

    async def discover(self, tx: Transaction) -> None:
        assert tx.lookup is not None and tx.profile is not None  # the steps before set them
        host = tx.lookup.host
        address: str | None
        if host and host.reserved_ip:
            if not tx.profile.holds(host.reserved_ip):
                raise Drop("reserved address %s is not on %s" % (host.reserved_ip,
                                                                 tx.profile.network))
            await self._check_reservation(tx, host.reserved_ip)
            address = host.reserved_ip
        else:
            done = tx.lookup.allocation
            if isinstance(done, Offered):
                address = done.ip
            else:
                requested = tx.request.requested_ip
                if requested and not tx.profile.holds(requested):
                    requested = None
                address = await self.store.offer(tx.mac, self._source(tx), requested, tx.now,
                                                 self.policy.offer_hold)
            if not address:
                raise Drop("no free address for group %s" % tx.lookup.group_name)
        tx.reply_type, tx.address, tx.lease_time = opt.OFFER, address, tx.profile.lease_time

    async def request(self, tx: Transaction) -> None:
        assert tx.lookup is not None and tx.profile is not None  # the steps before set them
        wanted = tx.wanted
        if not wanted:
            raise Drop("%s REQUEST without an address" % tx.state)
        if not tx.profile.holds(wanted):
            raise Nak("%s is not on network %s" % (wanted, tx.profile.network))
        host = tx.lookup.host
        if host and host.reserved_ip:
            if wanted != host.reserved_ip:
                raise Nak("the inventory gives %s, not %s" % (host.reserved_ip, wanted))
            await self._check_reservation(tx, wanted)
            tx.reply_type, tx.address, tx.lease_time = opt.ACK, wanted, tx.profile.lease_time
            return
        lease = await self._commit_dynamic(tx, wanted)
        tx.reply_type, tx.address, tx.lease_time = opt.ACK, wanted, lease.expires - tx.now

    async def _commit_dynamic(self, tx: Transaction, wanted: str) -> Lease:
        """The bound Lease, from the lookup's round trip if the store did it, else by calling
        lease_of() and commit(); Nak or Drop when the client may not have `wanted`."""
        assert tx.lookup is not None and tx.profile is not None  # the steps before set them
        done = tx.lookup.allocation
        if isinstance(done, Holds):
            raise Nak("client holds %s, not %s" % (done.ip, wanted))
        if done is None and tx.state != "SELECTING":
            lease = await self.store.lease_of(tx.mac, tx.now)
            if lease is not None and lease.ip != wanted:
                raise Nak("client holds %s, not %s" % (lease.ip, wanted))
        try:
            if isinstance(done, Refused):
                raise done.conflict
            if isinstance(done, Bound):
                return done.lease
            return await self.store.commit(tx.mac, wanted, self._source(tx),
                                           tx.profile.lease_time, tx.now,
                                           relay=tx.request.relay_agent_info or b"",
                                           state=tx.state, client=tx.request.hostname or "")
        except Conflict as e:
            if tx.state == "SELECTING" or e.taken or self.policy.authoritative:
                raise Nak(str(e)) from None
            raise Drop("no record of %s for %s (not authoritative)" % (wanted, tx.mac)) from None

    async def decline(self, tx: Transaction) -> None:
        address = tx.request.requested_ip
        if not address:
            raise Drop("DECLINE without an address")
        if not await self.store.decline(tx.mac, address, tx.now, self.policy.decline_probation):
            raise Drop("DECLINE of %s, which %s does not hold" % (address, tx.mac),
                       kind="decline-not-held")
        raise Drop("declined %s: quarantined for %ds" % (address, self.policy.decline_probation))

    async def _check_reservation(self, tx: Transaction, address: str) -> None:
        """A reserved address that another client still holds (its lease predates the
        reservation) is not given twice: drop, and log the conflict. That client loses it
        at its next renewal, since the address is reserved now. A store that cannot say
        (an outage) does not keep a reserved host from its address."""
        try:
            holder = await self.store.lease_holder(address, tx.now)
        except StoreUnavailable:
            return
        if holder and holder != tx.mac:
            self.warn("reservation conflict: %s is reserved for %s but leased to %s"
                      % (address, tx.mac, holder))
            raise Drop("reserved %s is leased to %s" % (address, holder),
                       kind="reserved-conflict")

    async def release(self, tx: Transaction) -> None:
        released = await self.store.release(tx.mac, tx.request.ciaddr, tx.now)
        raise Drop("released %s" % tx.request.ciaddr if released else
                   "RELEASE of %s, which %s does not hold" % (tx.request.ciaddr, tx.mac))

    async def bootp(self, tx: Transaction) -> None:
        """A BOOTP request (RFC 951): the host's reservation, for as long as it stands (no
        lease time, ISC dhcpd's rule); a host without one gets nothing (dynamic BOOTP off)."""
        assert tx.lookup is not None and tx.profile is not None  # the steps before set them
        host = tx.lookup.host
        if host is None or not host.reserved_ip:
            raise Drop("BOOTP from a host without a reservation", kind="bootp-unknown")
        if not tx.profile.holds(host.reserved_ip):
            raise Drop("reserved address %s is not on %s" % (host.reserved_ip,
                                                             tx.profile.network))
        await self._check_reservation(tx, host.reserved_ip)
        tx.reply_type, tx.address, tx.lease_time = opt.BOOTP_REPLY, host.reserved_ip, None

    async def inform(self, tx: Transaction) -> None:
        tx.reply_type, tx.address, tx.lease_time = opt.ACK, ZERO, None
