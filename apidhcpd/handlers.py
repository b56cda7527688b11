"""The handler chain: one small class per step of answering a DHCP request (RFC 2131 4.3).

Each handler is `async def __call__(self, tx)`; `raise Drop(reason)` ends the transaction
silently, `raise Nak(reason)` answers DHCPNAK. Handlers know the protocol rules and talk to an
IStore; they know nothing of sockets (protocol.py) or of where replies go (addressing.py).
"""

import ipaddress
import operator
from typing import Dict, List, Optional, Tuple

import attr

from apidhcpd import options as opt
from apidhcpd import relay as relays
from apidhcpd.addressing import on_link
from apidhcpd.bounded import BoundedMap
from apidhcpd.inventory import (HOST_ONLY, Link, Profile, build_profile, network_bound,
                                off_network, without_network)
from apidhcpd.message import Message, reply_for
from apidhcpd.store import (NO_FIELDS, AddressSource, Conflict, Intent, Lookup,
                            StoreUnavailable)

ZERO = "0.0.0.0"
SUBNET_MASK, LEASE_TIME, SERVER_ID, MESSAGE, RENEWAL_TIME, REBINDING_TIME = 1, 51, 54, 56, 58, 59
RELAY_AGENT_INFO = 82

# always sent when we have them; everything else only if the client asks (option 55)
ALWAYS = (SUBNET_MASK,)


class Drop(Exception):
    """Stop without answering; the reason is logged (and counted under `kind` if given)."""

    def __init__(self, reason: str, kind: str = ""):
        super().__init__(reason)
        self.kind = kind


class Nak(Exception):
    """Answer DHCPNAK; the reason is logged and sent as option 56."""


@attr.s(frozen=True)
class Policy:
    """The server's settings that handlers consult."""

    server_id: str = attr.ib()
    authoritative: bool = attr.ib(default=False)
    offer_hold: int = attr.ib(default=60)
    decline_probation: int = attr.ib(default=86400)
    trusted_relays: Optional[frozenset] = attr.ib(default=None)  # None: any relay

    def our_id(self, tx) -> str:
        """Option 54 as the client must see it: the relay's RFC 5107 override if it sent one."""
        return tx.relay.server_id_override or self.server_id


@attr.s
class Transaction:
    """One request on its way through the chain, and what the chain decided."""

    request: Message = attr.ib()
    link: Link = attr.ib()
    now: int = attr.ib()
    lookup: Optional[Lookup] = attr.ib(default=None)
    profile: Optional[Profile] = attr.ib(default=None)
    reply_type: Optional[int] = attr.ib(default=None)
    address: Optional[str] = attr.ib(default=None)  # the client's address (yiaddr)
    lease_time: Optional[int] = attr.ib(default=None)
    reply: Optional[Message] = attr.ib(default=None)
    state: str = attr.ib(default="")  # SELECTING, INIT-REBOOT, RENEWING/REBINDING
    relay: relays.RelayInfo = attr.ib(default=None)
    selector: str = attr.ib(default="")  # the address that names the client's subnet

    wanted: Optional[str] = attr.ib(default=None)  # the address a REQUEST asks for

    def __attrs_post_init__(self):
        if self.relay is None:
            self.relay = relays.relay_info(self.request)
        if not self.selector:
            self.selector = relays.selector(self.request, self.relay, self.link.address)
        if self.request.message_type == opt.REQUEST:
            self.state, self.wanted = request_state(self.request)

    @property
    def mac(self) -> str:
        return self.request.mac


def request_state(request) -> Tuple[str, Optional[str]]:
    """RFC 2131 4.3.2: the client's state and the address it asks for. SELECTING names a
    server (option 54); RENEWING (and REBINDING: the same rules here) has ciaddr;
    INIT-REBOOT asks for option 50 without naming a server."""
    if request.server_id is not None:
        return "SELECTING", request.requested_ip
    if request.ciaddr != ZERO:
        return "RENEWING", request.ciaddr
    return "INIT-REBOOT", request.requested_ip


class CheckRequest:
    """Drop what is not a client's BOOTREQUEST with a message type a server acts on, and what
    comes through a relay that is not trusted (when a trusted list is set). Option 82 from a
    client on the link (giaddr 0) is not a relay's word (RFC 3046 2.1): it is removed, neither
    used nor echoed. (What only the wire can judge, giaddr and the reply's size, protocol.py
    checks before the chain.)"""

    ACTED_ON = (opt.DISCOVER, opt.REQUEST, opt.DECLINE, opt.RELEASE, opt.INFORM)

    def __init__(self, policy: Policy):
        self.trusted = policy.trusted_relays

    async def __call__(self, tx):
        request = tx.request
        if request.op != 1:
            raise Drop("not a BOOTREQUEST (op %d)" % request.op, kind="invalid-request")
        if request.message_type not in self.ACTED_ON:
            raise Drop("message type %r is not for a server" % (request.message_type,),
                       kind="invalid-request")
        if request.hlen == 0 or request.chaddr[:request.hlen].count(0) == request.hlen:
            raise Drop("no hardware address", kind="invalid-request")
        if request.giaddr == ZERO:
            if RELAY_AGENT_INFO in request.options:
                del request.options[RELAY_AGENT_INFO]
        elif self.trusted is not None and request.giaddr not in self.trusted:
            raise Drop("relay %s is not trusted" % request.giaddr, kind="untrusted-relay")


class RelayedNetwork:
    """A relayed request is served only on a network the inventory describes: a `subnet:`
    key, the server's own link, or the network of the group that serves it (the seed's one
    network). Anything else is dropped and counted (docs/redis.md): the client would be given
    an address and a router of a network it is not on. An offer that the lookup's round trip
    made meanwhile is given back."""

    def __init__(self, store):
        self.store = store

    async def __call__(self, tx):
        if tx.request.giaddr == ZERO or tx.lookup.subnet is not None \
                or on_link(tx.selector, tx.link.network) or tx.profile.holds(tx.selector):
            return
        if tx.lookup.allocation is not None and tx.request.message_type == opt.DISCOVER:
            await self.store.release_offer(tx.mac)
        raise Drop("relayed for %s, on no subnet" % tx.selector, kind="no-subnet")


class ServerIdentity:
    """A REQUEST, DECLINE or RELEASE naming another server (option 54) is not ours: drop it;
    for a REQUEST, the client chose another server's offer, so free ours (RFC 2131 4.3.2)."""

    def __init__(self, policy: Policy, store):
        self.policy = policy
        self.store = store

    async def __call__(self, tx):
        request = tx.request
        chosen = request.server_id
        if chosen is None or chosen == self.policy.our_id(tx):
            return
        if request.message_type == opt.REQUEST:
            # the other server's offer may be the same shared address: that one stays
            await self.store.release_offer(tx.mac, keep=request.requested_ip or "")
            raise Drop("client chose server %s" % chosen)
        if request.message_type in (opt.DECLINE, opt.RELEASE):
            raise Drop("meant for server %s" % chosen)


class ClientLookup:
    """Find the host and the subnet (host_keys() gives the order). The store is told what
    allocation comes next (an Intent), so that it can do both in one round trip; `allocate`
    is switched off where allocation needs a check between the two (a standby's)."""

    def __init__(self, store, policy: Policy):
        self.store = store
        self.policy = policy
        self.allocate = True

    async def __call__(self, tx):
        tx.lookup = await self.store.lookup(host_keys(tx.request, tx.relay), tx.now, tx.selector,
                                            self._intent(tx) if self.allocate else None)

    def _intent(self, tx) -> Optional[Intent]:
        kind = tx.request.message_type
        if kind == opt.DISCOVER:
            return Intent("offer", tx.mac, tx.request.requested_ip or "", self.policy.offer_hold)
        if kind == opt.REQUEST and tx.wanted:
            return Intent("commit", tx.mac, tx.wanted, state=tx.state,
                          client=tx.request.hostname or "",
                          relay=tx.request.relay_agent_info or b"")
        return None


def host_keys(request, relay: relays.RelayInfo) -> List[str]:
    """`client:<option 61 as hex>`, `client:<host name>` (the seed's id), `mac:<mac>`, then
    the relay's `relay:<circuit-id>` and `remote:<remote-id>` (a switch port's reservation)."""
    keys = ["client:" + i for i in (request.client_id_hex, request.hostname) if i]
    keys.append("mac:" + request.mac)
    if relay.circuit_id:
        keys.append("relay:" + relays.id_key(relay.circuit_id))
    if relay.remote_id:
        keys.append("remote:" + relays.id_key(relay.remote_id))
    return keys


class GroupOptions:
    """Turn the host's group (over group:default) and the host's own fields into a Profile.
    Parsed profiles are cached by content, so each distinct group is parsed (and its
    warnings logged) once. Both caches are capped in entries and bytes (bounded.py), the
    oldest going first; a host's fields that are no options (its address, `ts`) are not part
    of the content, so dynamic clients share their group's profile."""

    def __init__(self, warn, cache_size: int = 4096, max_bytes: int = 8 << 20):
        self.warn = warn
        self.cache = BoundedMap(cache_size, max_bytes)  # content -> (Profile, its size)
        self.by_identity = BoundedMap(cache_size, max_bytes)  # ids -> (hashes, Profile)

    async def __call__(self, tx):
        lookup = tx.lookup
        host_fields = lookup.host.fields if lookup.host else NO_FIELDS
        hashes = (lookup.group_fields, lookup.default_fields, lookup.subnet_fields, host_fields)
        # The inventory cache hands out the same dicts, which nobody changes, until the hash
        # changes in Redis: for those, the content need not be read again.
        identity = (lookup.group_name, lookup.subnet, tx.link) + tuple(map(id, hashes))
        known = self.by_identity.entries.get(identity)
        if known is not None and all(map(operator.is_, known[0][0], hashes)):
            tx.profile = known[0][1]
            return
        overrides = tuple(sorted((k, v) for k, v in host_fields.items() if k not in HOST_ONLY))
        key = (lookup.group_name, tuple(sorted(lookup.group_fields.items())),
               tuple(sorted(lookup.default_fields.items())), lookup.subnet,
               tuple(sorted(lookup.subnet_fields.items())), overrides, tx.link)
        cached = self.cache.get(key)
        if cached is None:
            profile = self._build(lookup, dict(overrides), tx.link)
            for warning in profile.warnings:
                self.warn(warning)
            size = 200 + len(key[0]) + len(key[3] or "") + sum(
                len(k) + len(v) for part in (key[1], key[2], key[4], overrides)
                for k, v in part)
            cached = (profile, size)
            self.cache.put(key, cached, size)
        # holding the hashes keeps their ids theirs
        self.by_identity.put(identity, (hashes, cached[0]), cached[1])
        tx.profile = cached[0]

    @staticmethod
    def _build(lookup, host_fields, link) -> Profile:
        """group:default, under the subnet's fields, under the group's, under the host's.
        Dynamic ranges come from the subnet if one matched, else from the group itself. On a
        subnet, the router, mask, broadcast, routes and MTU of group:default, the group and the
        host count only where they belong to that subnet (inventory.off_network): a group
        written for the server's own LAN must not send a relayed client its router."""
        name = lookup.group_name
        network, notes = None, []
        if lookup.subnet:
            name = "%s (subnet %s)" % (name, lookup.subnet)
            try:
                network = ipaddress.IPv4Network(lookup.subnet)
            except ValueError:
                network = None

        def local(label, fields, over=NO_FIELDS):
            why = off_network(fields, network) if network is not None and fields else None
            if why is None:
                return fields
            lost = sorted(k for k in fields if network_bound(k) and k not in over
                          and k not in ("prefix", "netmask", "broadcast"))  # the subnet's
            if lost:
                notes.append("group %s: %s: %s, so its %s %s not sent there" % (
                    name, label, why, ", ".join(lost), "is" if len(lost) == 1 else "are"))
            return without_network(fields)

        merged = dict(local("group:default", lookup.default_fields, lookup.subnet_fields))
        merged.update(lookup.subnet_fields)
        if lookup.group_name != "default":
            merged.update(local("group:" + lookup.group_name, lookup.group_fields))
        owner = lookup.subnet_fields if lookup.subnet else lookup.group_fields
        merged["range"] = owner.get("range", "")
        if lookup.host is not None:
            host_fields = local(lookup.host.key, host_fields)
        return build_profile(name, merged, link, host_fields, network=network, notes=notes)


class LeaseAllocation:
    """Decide the client's address per message type and client state (RFC 2131 4.3)."""

    def __init__(self, policy: Policy, store, warn=lambda message: None):
        self.policy = policy
        self.store = store
        self.warn = warn

    async def __call__(self, tx):
        handler = {opt.DISCOVER: self.discover, opt.REQUEST: self.request,
                   opt.DECLINE: self.decline, opt.RELEASE: self.release,
                   opt.INFORM: self.inform}[tx.request.message_type]
        await handler(tx)

    def _source(self, tx) -> AddressSource:
        profile, name = tx.profile, tx.lookup.group_name
        if tx.lookup.subnet:
            return AddressSource(tx.lookup.subnet, profile.ranges)
        return AddressSource(name, profile.ranges, seed_pool=not profile.ranges or name == "pool")

    async def discover(self, tx):
        host = tx.lookup.host
        if host and host.reserved_ip:
            if not tx.profile.holds(host.reserved_ip):
                raise Drop("reserved address %s is not on %s" % (host.reserved_ip,
                                                                 tx.profile.network))
            await self._check_reservation(tx, host.reserved_ip)
            address = host.reserved_ip
        else:
            done = tx.lookup.allocation
            if done is not None:
                address = done[1]
            else:
                requested = tx.request.requested_ip
                if requested and not tx.profile.holds(requested):
                    requested = None
                address = await self.store.offer(tx.mac, self._source(tx), requested, tx.now,
                                                 self.policy.offer_hold)
            if not address:
                raise Drop("no free address for group %s" % tx.lookup.group_name)
        tx.reply_type, tx.address, tx.lease_time = opt.OFFER, address, tx.profile.lease_time

    async def request(self, tx):
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

    async def _commit_dynamic(self, tx, wanted):
        """The bound Lease, from the lookup's round trip if the store did it, else by calling
        lease_of() and commit(); Nak or Drop when the client may not have `wanted`."""
        done = tx.lookup.allocation or ()
        if done[:1] == ("holds",):
            raise Nak("client holds %s, not %s" % (done[1], wanted))
        if not done and tx.state != "SELECTING":
            lease = await self.store.lease_of(tx.mac, tx.now)
            if lease is not None and lease.ip != wanted:
                raise Nak("client holds %s, not %s" % (lease.ip, wanted))
        try:
            if done[:1] == ("conflict",):
                raise done[1]
            if done[:1] == ("bound",):
                return done[1]
            return await self.store.commit(tx.mac, wanted, self._source(tx),
                                           tx.profile.lease_time, tx.now,
                                           relay=tx.request.relay_agent_info or b"",
                                           state=tx.state, client=tx.request.hostname or "")
        except Conflict as e:
            if tx.state == "SELECTING" or e.taken or self.policy.authoritative:
                raise Nak(str(e))
            raise Drop("no record of %s for %s (not authoritative)" % (wanted, tx.mac))

    async def decline(self, tx):
        address = tx.request.requested_ip
        if not address:
            raise Drop("DECLINE without an address")
        if not await self.store.decline(tx.mac, address, tx.now, self.policy.decline_probation):
            raise Drop("DECLINE of %s, which %s does not hold" % (address, tx.mac),
                       kind="decline-not-held")
        raise Drop("declined %s: quarantined for %ds" % (address, self.policy.decline_probation))

    async def _check_reservation(self, tx, address):
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

    async def release(self, tx):
        released = await self.store.release(tx.mac, tx.request.ciaddr, tx.now)
        raise Drop("released %s" % tx.request.ciaddr if released else
                   "RELEASE of %s, which %s does not hold" % (tx.request.ciaddr, tx.mac))

    async def inform(self, tx):
        tx.reply_type, tx.address, tx.lease_time = opt.ACK, ZERO, None


class Finish:
    """Build the reply: server identifier, lease time with T1/T2 (0.5 and 0.875), and the
    profile's options that the client asked for (option 55), in the order it asked."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self.server_id = opt.encode_option(SERVER_ID, policy.server_id)

    async def __call__(self, tx):
        request, profile = tx.request, tx.profile
        reply = reply_for(request, tx.reply_type)
        reply.yiaddr = tx.address if request.message_type != opt.INFORM else ZERO
        override = tx.relay.server_id_override  # RFC 5107
        chosen = {SERVER_ID: self.server_id if override is None
                  else opt.encode_option(SERVER_ID, override)}
        if tx.lease_time is not None:
            chosen[LEASE_TIME] = _u32(tx.lease_time)
            chosen[RENEWAL_TIME] = _u32(tx.lease_time // 2)
            chosen[REBINDING_TIME] = _u32(tx.lease_time * 7 // 8)
        chosen.update(_requested(profile.options, request.parameter_request_list))
        for code, value in chosen.items():
            reply.options[code] = value
        tx.reply = reply


def _u32(value: int) -> bytes:
    return value.to_bytes(4, "big")


def _requested(available: Dict[int, bytes], wanted: Optional[List[int]]) -> List[Tuple[int, bytes]]:
    if wanted is None:
        return list(available.items())
    chosen = [(code, available[code]) for code in ALWAYS if code in available]
    chosen += [(code, available[code]) for code in dict.fromkeys(wanted)
               if code in available and code not in ALWAYS]
    return chosen


def nak_for(tx, policy: Policy, reason: str) -> Message:
    """DHCPNAK per RFC 2131 table 3: no lease or configuration options, yiaddr/siaddr 0,
    the broadcast bit set when it goes through a relay."""
    reply = reply_for(tx.request, opt.NAK)
    reply.options[SERVER_ID] = opt.encode_option(SERVER_ID, policy.our_id(tx))
    reply.options[MESSAGE] = reason.encode("ascii", "replace")[:255]
    if tx.request.giaddr != ZERO:
        reply.flags |= 0x8000
    return reply


def default_chain(policy: Policy, store, warn, clock=None, limits=None):
    """The steps in order; with a clock and `limits` (ratelimit.Limits), RateLimit comes
    right after CheckRequest."""
    from apidhcpd.ratelimit import RateLimit  # it raises this module's Drop
    limit = [RateLimit(limits, clock)] if clock is not None and limits is not None else []
    return [CheckRequest(policy), *limit, ServerIdentity(policy, store),
            ClientLookup(store, policy), GroupOptions(warn), RelayedNetwork(store),
            LeaseAllocation(policy, store, warn), Finish(policy)]
