"""The DHCPv6 steps that find the client in the inventory and decide its IAs (RFC 8415 18.3):
ClientLookup6 (the store lookup) and Leases6 (per message type: which address or prefix each
IA_NA and IA_PD is offered, bound, extended, released or declined, with which lifetimes and
status codes).

One address per IA_NA, one prefix per IA_PD, keyed by (DUID, IAID, kind) in the store; the
host's reservation (`ip6`, `prefix6`) goes to the first IA of its kind; IA_TA is not served.
Knows the store's IStore6 calls and the rules; knows nothing of sockets, relays' wire format
or options other than the IAs.
"""

import ipaddress
from collections.abc import Awaitable, Callable

from apidhcpd.dhcp6.ia import IA, IA_NA, IA_PD, IA_TA, IAAddress, IAPrefix
from apidhcpd.dhcp6.options import MessageType as T
from apidhcpd.dhcp6.options import StatusCode as S
from apidhcpd.dhcp6.transaction import ChainStore6, Drop, Policy6, Transaction6
from apidhcpd.dhcp6.values import Status
from apidhcpd.inventory.allocation6 import MAX_HINTS, Lifetimes, source6
from apidhcpd.store import keys
from apidhcpd.store.contract6 import NA, PD, Conflict6, IAKey, Lease6, Source6

KINDS: dict[int, str] = {IA_NA: NA, IA_PD: PD}
NO_ADDRESS = Status(S.NoAddrsAvail, "no address available")
NO_PREFIX = Status(S.NoPrefixAvail, "no prefix available")
NO_TEMPORARY = Status(S.NoAddrsAvail, "temporary addresses are not served")
NONE_FREE: dict[int, Status] = {IA_NA: NO_ADDRESS, IA_PD: NO_PREFIX, IA_TA: NO_TEMPORARY}
NO_BINDING = Status(S.NoBinding, "no binding for this IA")
NOT_ON_LINK = Status(S.NotOnLink, "not on this link")
SUCCESS = Status(S.Success, "")


class ClientLookup6:
    """Find the host (host_keys() gives the order) and the `subnet6:` of tx.selector."""

    def __init__(self, store: ChainStore6):
        self.store = store

    async def __call__(self, tx: Transaction6) -> None:
        tx.lookup = await self.store.lookup6(host_keys(tx), tx.now, tx.selector)


def host_keys(tx: Transaction6) -> list[str]:
    """`duid:<DUID hex>`, `mac:<mac>` (option 79 of the nearest relay, else the DUID's),
    `relay:<interface-id>`, `remote:<remote-id>`."""
    found = [keys.duid(tx.duid)] if tx.duid else []
    if tx.mac:
        found.append(keys.mac(tx.mac))
    if tx.relay.interface_id:
        found.append(keys.relay(keys.id_text(tx.relay.interface_id)))
    if tx.relay.remote_id:
        found.append(keys.remote(keys.id_text(tx.relay.remote_id)))
    return found


def reserved_value(tx: Transaction6, ia: IA) -> str | None:
    """The host's `ip6` (for the first IA_NA) or `prefix6` (for the first IA_PD), in RFC 5952
    form; None when it has none or this IA is not the first of its kind; ValueError when it
    does not read."""
    assert tx.lookup is not None  # ClientLookup6 ran
    host = tx.lookup.host
    if host is None or ia.code not in KINDS:
        return None
    first = next(other for other in tx.client_ias if other.code == ia.code)
    if first.iaid != ia.iaid:
        return None
    name = "ip6" if ia.code == IA_NA else "prefix6"
    text = host.fields.get(name, "").strip()
    if not text:
        return None
    try:
        if ia.code == IA_NA:
            return str(ipaddress.IPv6Address(text))
        return str(ipaddress.IPv6Network(text))
    except ValueError:
        raise ValueError("%s %r is not an IPv6 %s" % (
            name, text, "address" if ia.code == IA_NA else "prefix")) from None


def values_of(ia: IA) -> list[str]:
    """The addresses (RFC 5952 text) or prefixes (`net/len`) an IA lists."""
    if ia.code == IA_PD:
        return ["%s/%d" % (p.network.network_address, p.prefix_length) for p in ia.prefixes]
    return [str(ipaddress.IPv6Address(a.address)) for a in ia.addresses]


def answer(ia: IA, granted: tuple[str, Lifetimes] | None = None,
           withdrawn: list[str] | tuple[str, ...] = (), status: Status | None = None) -> IA:
    """The reply's IA: the value granted with its lifetimes (and the IA's T1/T2), the values
    withdrawn with lifetimes 0, a status."""
    values = ([granted] if granted else []) + [(v, Lifetimes(0, 0, 0, 0)) for v in withdrawn
                                              if not granted or v != granted[0]]
    t1, t2 = (granted[1].t1, granted[1].t2) if granted else (0, 0)
    if ia.code == IA_PD:
        prefixes = []
        for value, lt in values:
            network = ipaddress.IPv6Network(value, strict=False)
            prefixes.append(IAPrefix(str(network.network_address), network.prefixlen,
                                     lt.preferred, lt.valid))
        return IA(IA_PD, ia.iaid, t1, t2, prefixes=tuple(prefixes), status=status)
    return IA(ia.code, ia.iaid, t1, t2, addresses=tuple(
        IAAddress(value, lt.preferred, lt.valid) for value, lt in values), status=status)


def remaining(lt: Lifetimes, lease: Lease6, now: int) -> Lifetimes:
    """The lifetimes of a bound lease: its valid lifetime as the store ends it, the others
    no longer than that."""
    valid = max(0, lease.expires - now)
    preferred = min(lt.preferred, valid)
    t2 = min(lt.t2, preferred)
    return Lifetimes(preferred, valid, min(lt.t1, t2), t2)


Handler = Callable[[Transaction6], Awaitable[None]]


class Leases6:
    """Decide the reply's type, IAs and status per message type (RFC 8415 18.3.1-18.3.8)."""

    def __init__(self, policy: Policy6, store: ChainStore6,
                 warn: Callable[[str], object] = lambda message: None):
        self.policy = policy
        self.store = store
        self.warn = warn
        self.handlers: dict[int, Handler] = {
            T.SOLICIT: self.solicit, T.REQUEST: self.request, T.CONFIRM: self.confirm,
            T.RENEW: self.renew, T.REBIND: self.rebind, T.RELEASE: self.release,
            T.DECLINE: self.decline, T.INFORMATION_REQUEST: self.information_request}

    async def __call__(self, tx: Transaction6) -> None:
        # CheckMessage lets only these types through
        await self.handlers[tx.message.msg_type](tx)

    # what every IA of a message shares

    def _network(self, tx: Transaction6) -> ipaddress.IPv6Network | None:
        assert tx.lookup is not None  # ClientLookup6 ran
        try:
            return ipaddress.IPv6Network(tx.lookup.subnet or "")
        except ValueError:
            return None

    def _on_link(self, tx: Transaction6, address: str) -> bool:
        network = self._network(tx)
        return network is not None and ipaddress.IPv6Address(address) in network

    def _reserved(self, tx: Transaction6, ia: IA) -> str | None:
        """reserved_value(), with a warning when the host's value does not read."""
        try:
            return reserved_value(tx, ia)
        except ValueError as e:
            assert tx.lookup is not None and tx.lookup.host is not None  # it has a value
            self.warn("%s: %s" % (tx.lookup.host.key, e))
            return None

    def _source(self, tx: Transaction6, ia: IA) -> Source6 | None:
        assert tx.lookup is not None and tx.lookup.subnet  # OnNetwork let it through
        return source6(tx.lookup.subnet, tx.lookup.subnet_fields, KINDS[ia.code])

    def _lifetimes(self, tx: Transaction6) -> Lifetimes:
        assert tx.profile is not None  # Options6 ran
        return tx.profile.lifetimes

    def _key(self, tx: Transaction6, ia: IA) -> IAKey:
        return IAKey(tx.duid, ia.iaid, KINDS[ia.code])

    def _hints(self, tx: Transaction6, ia: IA) -> list[str]:
        listed = values_of(ia)[:MAX_HINTS]
        return [v for v in listed if self._on_link(tx, v)] if ia.code == IA_NA else listed

    def _granted(self, tx: Transaction6, ia: IA, value: str, lt: Lifetimes,
                 withdrawn: list[str] | tuple[str, ...] = ()) -> IA:
        tx.values.append(value)
        return answer(ia, (value, lt), withdrawn)

    def _reservation_off_link(self, tx: Transaction6, ia: IA, value: str) -> bool:
        if ia.code == IA_NA and not self._on_link(tx, value):
            self.warn("reserved %s of %s is not on %s" % (value, tx.duid,
                                                         tx.lookup and tx.lookup.subnet))
            return True
        return False

    # the message types

    async def solicit(self, tx: Transaction6) -> None:
        """ADVERTISE what a REQUEST would get, or, when the client asks for Rapid Commit and
        the network allows it (`rapid-commit`), REPLY with it bound (18.3.1)."""
        assert tx.profile is not None  # Options6 ran
        rapid = tx.message.rapid_commit and tx.profile.rapid_commit
        for ia in tx.client_ias:
            tx.ias.append(await (self._bind(tx, ia, False) if rapid else self._offer(tx, ia)))
        tx.reply_type, tx.rapid_commit = (T.REPLY, True) if rapid else (T.ADVERTISE, False)

    async def _offer(self, tx: Transaction6, ia: IA) -> IA:
        if ia.code == IA_TA:
            return answer(ia, status=NO_TEMPORARY)
        lt = self._lifetimes(tx)
        reserved = self._reserved(tx, ia)
        if reserved is not None:
            if self._reservation_off_link(tx, ia, reserved):
                return answer(ia, status=NONE_FREE[ia.code])
            return self._granted(tx, ia, reserved, lt)
        source = self._source(tx, ia)
        lease = None if source is None else await self.store.offer6(
            self._key(tx, ia), source, self._hints(tx, ia), tx.now, self.policy.offer_hold)
        if lease is None:
            return answer(ia, status=NONE_FREE[ia.code])
        return self._granted(tx, ia, lease.value, lt)

    async def request(self, tx: Transaction6) -> None:
        """REPLY with each IA bound (18.3.2): the reservation, else what was offered (the
        IA's record), else a hint, else a free value; an IA_NA listing an address that is
        not on the link: NotOnLink."""
        for ia in tx.client_ias:
            tx.ias.append(await self._bind(tx, ia, True))
        tx.reply_type = T.REPLY

    async def _bind(self, tx: Transaction6, ia: IA, check_link: bool) -> IA:
        if ia.code == IA_TA:
            return answer(ia, status=NO_TEMPORARY)
        if check_link and ia.code == IA_NA and not all(
                self._on_link(tx, v) for v in values_of(ia)):
            return answer(ia, status=NOT_ON_LINK)
        lt, key = self._lifetimes(tx), self._key(tx, ia)
        reserved = self._reserved(tx, ia)
        try:
            if reserved is not None:
                if self._reservation_off_link(tx, ia, reserved):
                    return answer(ia, status=NONE_FREE[ia.code])
                lease = await self.store.commit6_reserved(key, reserved, lt.valid, tx.now)
                return self._granted(tx, ia, lease.value, remaining(lt, lease, tx.now))
            source = self._source(tx, ia)
            bound = None if source is None else await self.store.bind6(
                key, source, self._hints(tx, ia), lt.valid, tx.now, tx.mac or "")
            if bound is None:
                return answer(ia, status=NONE_FREE[ia.code])
            lease = bound
        except Conflict6 as e:
            self.warn("%s IAID %d: %s" % (tx.duid, ia.iaid, e))
            return answer(ia, status=NONE_FREE[ia.code])
        return self._granted(tx, ia, lease.value, remaining(lt, lease, tx.now))

    async def renew(self, tx: Transaction6) -> None:
        await self._extend(tx, rebind=False)

    async def rebind(self, tx: Transaction6) -> None:
        await self._extend(tx, rebind=True)

    async def _extend(self, tx: Transaction6, rebind: bool) -> None:
        """RENEW and REBIND (18.3.4, 18.3.5): each IA's binding gets new lifetimes; what the
        IA lists that is not its binding (another value, an address not on the link) is
        returned with lifetimes 0. An IA without a binding: NoBinding, except that a REBIND
        listing addresses not on the link gets them back with lifetimes 0."""
        leases = await self.store.leases6_of(tx.duid, tx.now)
        bound = {lease.ia: lease for lease in leases if lease.state == "bound"}
        for ia in tx.client_ias:
            if ia.code == IA_TA:
                continue
            tx.ias.append(await self._extend_one(tx, ia, bound.get(self._key(tx, ia)), rebind))
        tx.reply_type = T.REPLY

    async def _extend_one(self, tx: Transaction6, ia: IA, binding: Lease6 | None,
                          rebind: bool) -> IA:
        lt, key, listed = self._lifetimes(tx), self._key(tx, ia), values_of(ia)
        reserved = self._reserved(tx, ia)
        try:
            if reserved is not None and not self._reservation_off_link(tx, ia, reserved):
                lease = await self.store.commit6_reserved(key, reserved, lt.valid, tx.now)
                return self._granted(tx, ia, lease.value, remaining(lt, lease, tx.now), listed)
            if binding is None:
                off_link = [v for v in listed if ia.code == IA_NA and not self._on_link(tx, v)]
                if rebind and off_link:
                    return answer(ia, withdrawn=listed)
                return answer(ia, status=NO_BINDING)
            source = self._source(tx, ia)
            if source is None:
                raise Conflict6("%s: its pool is gone" % binding.value, taken=False)
            lease = await self.store.commit6(key, binding.value, source, lt.valid, tx.now,
                                             tx.mac or "")
        except Conflict6 as e:
            self.warn("%s IAID %d: %s" % (tx.duid, ia.iaid, e))
            gone = listed + ([binding.value] if binding is not None else [])
            return answer(ia, withdrawn=list(dict.fromkeys(gone)))
        return self._granted(tx, ia, lease.value, remaining(lt, lease, tx.now), listed)

    async def confirm(self, tx: Transaction6) -> None:
        """Success when every address of the message is on the link, else NotOnLink
        (18.3.3); no addresses: no reply."""
        addresses = [v for ia in tx.client_ias if ia.code != IA_PD
                     for v in values_of(ia)]
        if not addresses:
            raise Drop("CONFIRM without addresses")
        on_link = all(self._on_link(tx, v) for v in addresses)
        tx.reply_type, tx.status = T.REPLY, SUCCESS if on_link else NOT_ON_LINK

    async def release(self, tx: Transaction6) -> None:
        await self._give_back(tx, decline=False)

    async def decline(self, tx: Transaction6) -> None:
        await self._give_back(tx, decline=True)

    async def _give_back(self, tx: Transaction6, decline: bool) -> None:
        """RELEASE and DECLINE (18.3.7, 18.3.8): each value the IA holds is freed (or held
        back for the probation); an IA that holds none of what it lists: NoBinding. The
        reply's status is Success."""
        for ia in tx.client_ias:
            if decline and ia.code == IA_PD:
                continue  # only addresses are declined
            done = False
            if ia.code != IA_TA:
                key = self._key(tx, ia)
                for value in values_of(ia):
                    if decline:
                        ok = await self.store.decline6(key, value, tx.now,
                                                       self.policy.decline_probation)
                    else:
                        ok = await self.store.release6(key, value, tx.now)
                    if ok:
                        tx.values.append(value)
                    done = done or ok
            if not done:
                tx.ias.append(answer(ia, status=NO_BINDING))
        tx.reply_type, tx.status = T.REPLY, SUCCESS

    async def information_request(self, tx: Transaction6) -> None:
        tx.reply_type = T.REPLY
