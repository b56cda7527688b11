"""The handler chain: one small class per step of answering a DHCP request (RFC 2131 4.3).

Each handler is `async def __call__(self, tx)`; `raise Drop(reason)` ends the transaction
silently, `raise Nak(reason)` answers DHCPNAK. Handlers know the protocol rules and talk to an
IStore; they know nothing of sockets (protocol.py) or of where replies go (addressing.py).
"""

import operator
from collections.abc import Awaitable, Callable

from apidhcpd.dhcp4 import options as opt
from apidhcpd.dhcp4.addressing import on_link
from apidhcpd.dhcp4.boot import NO_BOOT, answer_vendor, offered, place
from apidhcpd.dhcp4.gates import RateLimit, StandbyAllocation, StandbyFilter
from apidhcpd.dhcp4.lease import ClientLookup, LeaseAllocation
from apidhcpd.dhcp4.message import BOOTREQUEST, BROADCAST_FLAG, Message, reply_for
from apidhcpd.dhcp4.options import OptionCode
from apidhcpd.dhcp4.precedence import merge, profile_of
from apidhcpd.dhcp4.profile import HOST_ONLY, Link, Profile
from apidhcpd.dhcp4.transaction import ZERO, ChainStore, Drop, Policy, Transaction
from apidhcpd.ha.monitor import PeerMonitor
from apidhcpd.inventory.classes import Class
from apidhcpd.limits.bounded import BoundedMap
from apidhcpd.limits.clock import Clock
from apidhcpd.limits.ratelimit import Limits
from apidhcpd.store.contract import NO_FIELDS, Lookup, matched_classes

SUBNET_MASK = OptionCode.SUBNET_MASK
LEASE_TIME = OptionCode.LEASE_TIME
SERVER_ID = OptionCode.SERVER_ID
MESSAGE = OptionCode.MESSAGE
RENEWAL_TIME = OptionCode.RENEWAL_TIME
REBINDING_TIME = OptionCode.REBINDING_TIME
RELAY_AGENT_INFO = OptionCode.RELAY_AGENT_INFO
# RFC 2132 section 9: options of DHCP messages, never put in a BOOTREPLY's vendor area
DHCP_ONLY = frozenset(range(OptionCode.REQUESTED_ADDRESS, OptionCode.CLIENT_ID + 1))

# always sent when we have them; everything else only if the client asks (option 55)
ALWAYS = (SUBNET_MASK,)

Step = Callable[[Transaction], Awaitable[None]]


class CheckRequest:
    """Drop what is not a client's BOOTREQUEST with a message type a server acts on (or a
    BOOTP request: no option 53 at all), with a hardware address, and what comes through a
    relay that is not trusted (when a trusted list is set). Option 82 from a
    client on the link (giaddr 0) is not a relay's word (RFC 3046 2.1): it is removed, neither
    used nor echoed. (What only the wire can judge, giaddr and the reply's size, protocol.py
    checks before the chain.)"""

    ACTED_ON = (opt.DISCOVER, opt.REQUEST, opt.DECLINE, opt.RELEASE, opt.INFORM)

    def __init__(self, policy: Policy):
        self.trusted = policy.trusted_relays

    async def __call__(self, tx: Transaction) -> None:
        request = tx.request
        if request.op != BOOTREQUEST:
            raise Drop("not a BOOTREQUEST (op %d)" % request.op, kind="invalid-request")
        if request.message_type not in self.ACTED_ON and not request.bootp:
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

    def __init__(self, store: ChainStore):
        self.store = store

    async def __call__(self, tx: Transaction) -> None:
        assert tx.lookup is not None and tx.profile is not None  # the steps before set them
        if tx.request.giaddr == ZERO or tx.lookup.subnet is not None \
                or on_link(tx.selector, tx.link.network) or tx.profile.holds(tx.selector):
            return
        if tx.lookup.allocation is not None and tx.request.message_type == opt.DISCOVER:
            await self.store.release_offer(tx.mac)
        raise Drop("relayed for %s, on no subnet" % tx.selector, kind="no-subnet")


class ServerIdentity:
    """A REQUEST, DECLINE or RELEASE naming another server (option 54) is not ours: drop it;
    for a REQUEST, the client chose another server's offer, so free ours (RFC 2131 4.3.2)."""

    def __init__(self, policy: Policy, store: ChainStore):
        self.policy = policy
        self.store = store

    async def __call__(self, tx: Transaction) -> None:
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


class GroupOptions:
    """Turn the host's group (over group:default and the subnet), the client classes the
    request matches (dhcp4/classes.py) and the host's own fields into a Profile.
    Parsed profiles are cached by content, so each distinct group is parsed (and its
    warnings logged) once. Both caches are capped in entries and bytes (bounded.py), the
    oldest going first; a host's fields that are no options (its address, `ts`) are not part
    of the content, so dynamic clients share their group's profile."""

    def __init__(self, warn: Callable[[str], None], cache_size: int = 4096,
                 max_bytes: int = 8 << 20):
        self.warn = warn
        self.cache = BoundedMap(cache_size, max_bytes)  # content -> (Profile, its size)
        self.by_identity = BoundedMap(cache_size, max_bytes)  # ids -> (hashes, Profile)

    async def __call__(self, tx: Transaction) -> None:
        lookup = tx.lookup
        assert lookup is not None  # ClientLookup set it
        host_fields = lookup.host.fields if lookup.host else NO_FIELDS
        matched = matched_classes(lookup, tx.facts)
        hashes = (lookup.group_fields, lookup.default_fields, lookup.subnet_fields, host_fields,
                  *(fields for _, fields in matched))
        # The inventory cache hands out the same dicts, which nobody changes, until the hash
        # changes in Redis: for those, the content need not be read again.
        identity = (lookup.group_name, lookup.subnet, tx.link,
                    *(name for name, _ in matched)) + tuple(map(id, hashes))
        known = self.by_identity.entries.get(identity)
        if known is not None and all(map(operator.is_, known[0][0], hashes)):
            tx.profile = known[0][1]
            return
        overrides = tuple(sorted((k, v) for k, v in host_fields.items() if k not in HOST_ONLY))
        by_class = tuple((name, tuple(sorted(fields.items()))) for name, fields in matched)
        key = (lookup.group_name, tuple(sorted(lookup.group_fields.items())),
               tuple(sorted(lookup.default_fields.items())), lookup.subnet,
               tuple(sorted(lookup.subnet_fields.items())), overrides, tx.link, by_class)
        cached = self.cache.get(key)
        if cached is None:
            profile = self._build(lookup, dict(overrides), tx.link, matched)
            for warning in profile.warnings:
                self.warn(warning)
            size = 200 + len(key[0]) + len(key[3] or "") + sum(
                len(k) + len(v) for part in (key[1], key[2], key[4], overrides,
                                             *(fields for _, fields in by_class))
                for k, v in part)
            cached = (profile, size)
            self.cache.put(key, cached, size)
        # holding the hashes keeps their ids theirs
        self.by_identity.put(identity, (hashes, cached[0]), cached[1])
        tx.profile = cached[0]

    @staticmethod
    def _build(lookup: Lookup, host_fields: dict[str, str], link: Link,
               matched: tuple[Class, ...] = ()) -> Profile:
        """The Profile of the one precedence rule (precedence.merge, docs/redis.md)."""
        return profile_of(merge(lookup, host_fields, matched), link)


class Finish:
    """Build the reply: server identifier, lease time with T1/T2 (0.5 and 0.875), and the
    profile's options that the client asked for (option 55), in the order it asked; the
    named PXE options (43) for a PXE client, unless the inventory gives 43 itself; the boot
    fields (boot.place: siaddr, file, sname, or options 66/67 when overload takes the
    fields); option 60 back to a PXE or HTTP boot client that the reply boots. A BOOTREPLY
    (RFC 951/1497) has no 53, 54 or lease time and no DHCP-only option (RFC 2132 section 9),
    its options in code order: the RFC 1497 ones first, so that they fit its vendor area."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self.server_id = opt.encode_option(SERVER_ID, policy.server_id)

    async def __call__(self, tx: Transaction) -> None:
        request, profile = tx.request, tx.profile
        # LeaseAllocation set them (an INFORM has no address)
        assert tx.reply_type is not None and profile is not None
        reply = reply_for(request, tx.reply_type)
        address = tx.address if request.message_type != opt.INFORM else ZERO
        assert address is not None
        reply.yiaddr = address
        boot = profile.boot
        available = offered(profile.options, boot, request)
        wanted = _requested(available, request.parameter_request_list)
        if tx.reply_type == opt.BOOTP_REPLY:
            reply.options.update(sorted((code, value) for code, value in wanted
                                        if code not in DHCP_ONLY))
        else:
            override = tx.relay.server_id_override  # RFC 5107
            reply.options[SERVER_ID] = self.server_id if override is None \
                else opt.encode_option(SERVER_ID, override)
            if tx.lease_time is not None:
                reply.options[LEASE_TIME] = _u32(tx.lease_time)
                reply.options[RENEWAL_TIME] = _u32(tx.lease_time // 2)
                reply.options[REBINDING_TIME] = _u32(tx.lease_time * 7 // 8)
            reply.options.update(wanted)
        if boot is not NO_BOOT:
            place(reply, boot)
        answer_vendor(reply, request)
        tx.reply = reply


def _u32(value: int) -> bytes:
    return value.to_bytes(4, "big")


def _requested(available: dict[int, bytes], wanted: list[int] | None) -> list[tuple[int, bytes]]:
    if wanted is None:
        return list(available.items())
    chosen: list[tuple[int, bytes]] = [(code, available[code]) for code in ALWAYS
                                       if code in available]
    chosen += [(code, available[code]) for code in dict.fromkeys(wanted)
               if code in available and code not in ALWAYS]
    return chosen


def nak_for(tx: Transaction, policy: Policy, reason: str) -> Message:
    """DHCPNAK per RFC 2131 table 3: no lease or configuration options, yiaddr/siaddr 0,
    the broadcast bit set when it goes through a relay."""
    reply = reply_for(tx.request, opt.NAK)
    reply.options[SERVER_ID] = opt.encode_option(SERVER_ID, policy.our_id(tx))
    reply.options[MESSAGE] = reason.encode("ascii", "replace")[:255]
    if tx.request.giaddr != ZERO:
        reply.flags |= BROADCAST_FLAG
    return reply


def default_chain(policy: Policy, store: ChainStore, warn: Callable[[str], None],
                  clock: Clock | None = None, limits: Limits | None = None,
                  standby: PeerMonitor | None = None,
                  allow_allocation: bool = True) -> list[Step]:
    """The steps in order. With a clock and `limits` (ratelimit.Limits), RateLimit comes right
    after CheckRequest. With a `standby` (ha.monitor.PeerMonitor) the chain is a standby's:
    silent while the master lives and, without `allow_allocation` (the seed's --allow-slave),
    handing out no new dynamic addresses (the gate runs between lookup and allocation)."""
    gate = [StandbyFilter(standby)] if standby is not None else []
    limit = [RateLimit(limits, clock)] if clock is not None and limits is not None else []
    hold = standby is not None and not allow_allocation
    return [*gate, CheckRequest(policy), *limit, ServerIdentity(policy, store),
            ClientLookup(store, policy, allocate=not hold), GroupOptions(warn),
            RelayedNetwork(store), *([StandbyAllocation(store)] if hold else []),
            LeaseAllocation(policy, store, warn), Finish(policy)]
