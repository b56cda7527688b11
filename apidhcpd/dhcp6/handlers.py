"""The DHCPv6 handler chain: one small class per step of answering a client (RFC 8415 16,
18.3).

Each handler is `async def __call__(self, tx)`; `raise Drop(reason)` ends the transaction
silently, `raise StatusReply(code, reason)` answers a REPLY with only that status. The IA
rules are lease.py's. Handlers know the protocol rules and talk to the store; they know
nothing of sockets (protocol.py) or of where replies go.
"""

from collections.abc import Awaitable, Callable

from apidhcpd.dhcp6 import duid as duids
from apidhcpd.dhcp6.gates import RateLimit6, StandbyAllocation6, StandbyFilter6
from apidhcpd.dhcp6.ia import IA_CODES
from apidhcpd.dhcp6.lease import ClientLookup6, Leases6
from apidhcpd.dhcp6.message import reply_for
from apidhcpd.dhcp6.options import MessageType as T
from apidhcpd.dhcp6.options import OptionCode as C
from apidhcpd.dhcp6.options import StatusCode as S
from apidhcpd.dhcp6.profile import Profile6, build_profile, layers
from apidhcpd.dhcp6.transaction import ChainStore6, Drop, Policy6, StatusReply, Transaction6
from apidhcpd.dhcp6.values import U32, OptionError
from apidhcpd.ha.monitor import PeerMonitor
from apidhcpd.limits.bounded import BoundedMap
from apidhcpd.limits.clock import Clock
from apidhcpd.limits.ratelimit import Limits
from apidhcpd.store.contract import NO_FIELDS, matched_classes

Step = Callable[[Transaction6], Awaitable[None]]

# RFC 8415 16: what each message a server acts on must (True) or must not (False) carry
CLIENT_ID_NEEDED = frozenset((T.SOLICIT, T.REQUEST, T.CONFIRM, T.RENEW, T.REBIND,
                              T.RELEASE, T.DECLINE))
SERVER_ID_NEEDED = frozenset((T.REQUEST, T.RENEW, T.RELEASE, T.DECLINE))
SERVER_ID_REFUSED = frozenset((T.SOLICIT, T.CONFIRM, T.REBIND))
ACTED_ON = CLIENT_ID_NEEDED | {T.INFORMATION_REQUEST}
# a client may send these only to ff02::1:2 unless told the server's unicast address (option
# 12, which this server never sends): sent to us by unicast they are answered UseMulticast
MULTICAST_ONLY = SERVER_ID_NEEDED
REFRESH = C.INFORMATION_REFRESH_TIME


class OwnDUID:
    """The server's DUID (option 2): the one the store keeps under the server's name, or
    the DUID-LLT proposed at start-up, stored there at the first message (so it stays the
    same across restarts). Asked once; a failed ask is asked again next time."""

    def __init__(self, policy: Policy6, store: ChainStore6):
        self.policy = policy
        self.store = store
        self.duid: bytes | None = None

    async def __call__(self, tx: Transaction6) -> None:
        if self.duid is None:
            text = await self.store.server_duid(self.policy.name, self.policy.proposed_duid)
            try:
                raw = bytes.fromhex(text)
                duids.parse(raw)
            except (ValueError, OptionError):
                raise Drop("the store holds no DUID for %s: %r" % (self.policy.name, text),
                           kind="server-duid") from None
            self.duid = raw
        tx.server_duid = self.duid


class CheckMessage:
    """RFC 8415 16: drop what a server does not act on (an ADVERTISE, a REPLY, a RELAY-REPL
    anywhere in the chain...), a message without the client identifier (a DUID) it must
    carry, a SOLICIT, CONFIRM or REBIND naming a server, a REQUEST, RENEW, RELEASE or
    DECLINE naming none, an INFORMATION-REQUEST with IAs; and, silently, one that names
    another server."""

    async def __call__(self, tx: Transaction6) -> None:
        message = tx.message
        kind = message.msg_type
        if any(r.msg_type != T.RELAY_FORW for r in tx.relays):
            raise Drop("a RELAY-REPL is not for a server", kind="invalid-request")
        if kind not in ACTED_ON:
            raise Drop("message type %d is not for a server" % kind, kind="invalid-request")
        client = message.client_id
        if client is not None and message.client_duid is None:
            raise Drop("client id %s is no DUID" % client.hex(), kind="invalid-request")
        if kind in CLIENT_ID_NEEDED and client is None:
            raise Drop("no client id", kind="invalid-request")
        server = message.server_id
        if server is None:
            if kind in SERVER_ID_NEEDED:
                raise Drop("no server id", kind="invalid-request")
        elif kind in SERVER_ID_REFUSED:
            raise Drop("a server id in a message to every server", kind="invalid-request")
        elif server != tx.server_duid:
            raise Drop("for server %s" % server.hex(), kind="other-server")
        if kind == T.INFORMATION_REQUEST and any(c in IA_CODES for c, _ in message.options):
            raise Drop("an INFORMATION-REQUEST with IAs", kind="invalid-request")


class UnicastCheck:
    """A REQUEST, RENEW, RELEASE or DECLINE a client sent to our own address instead of
    ff02::1:2: we never told it to (option 12), so it gets UseMulticast and tries again by
    multicast (18.3.2, 18.3.4, 18.3.7, 18.3.8)."""

    async def __call__(self, tx: Transaction6) -> None:
        if tx.unicast and not tx.relays and tx.message.msg_type in MULTICAST_ONLY:
            raise StatusReply(S.UseMulticast, "use multicast")


class OnNetwork:
    """Serve only a client the inventory places on a network: a `subnet6:` holds the relays'
    link-address or, without a relay, our interface's address. Anything else is dropped and
    counted (`no-subnet`)."""

    async def __call__(self, tx: Transaction6) -> None:
        assert tx.lookup is not None  # ClientLookup6 ran
        if tx.lookup.subnet is None:
            raise Drop("on no subnet6 (%s)" % tx.selector, kind="no-subnet")


class Options6:
    """The Profile6 of the merged layers (profile.py), cached by content (capped in entries
    and bytes, bounded.py), so each distinct combination is parsed, and its warnings
    logged, once."""

    def __init__(self, warn: Callable[[str], None], cache_size: int = 4096,
                 max_bytes: int = 8 << 20):
        self.warn = warn
        self.cache = BoundedMap(cache_size, max_bytes)  # content -> Profile6

    async def __call__(self, tx: Transaction6) -> None:
        lookup = tx.lookup
        assert lookup is not None  # ClientLookup6 ran
        host = lookup.host
        layered = layers(lookup, host.fields if host else NO_FIELDS,
                         matched_classes(lookup, tx.facts))
        key = tuple(tuple(sorted(layer.items())) for layer in layered)
        profile: Profile6 | None = self.cache.get(key)
        if profile is None:
            profile = build_profile(layered, "%s (subnet6 %s)" % (lookup.group_name,
                                                                  lookup.subnet))
            for error in profile.errors:
                self.warn(error)
            self.cache.put(key, profile, 200 + sum(len(k) + len(v) for layer in key
                                                   for k, v in layer))
        tx.profile = profile


class Finish6:
    """Build the reply: the client's and our identifiers, the IAs, the status, Rapid Commit,
    the profile's options the client asked for (option 6), in the order it asked; the
    preference (7) in an ADVERTISE if the inventory gives one; the information refresh time
    (32) in the reply to an INFORMATION-REQUEST (RFC 8415 21.23)."""

    async def __call__(self, tx: Transaction6) -> None:
        profile, request = tx.profile, tx.message
        assert profile is not None and tx.reply_type is not None  # the steps before set them
        reply = reply_for(request, tx.reply_type, tx.server_duid)
        for ia in tx.ias:
            reply.add_ia(ia)
        if tx.status is not None:
            reply.add(C.STATUS_CODE, tx.status)
        if tx.rapid_commit:
            reply.add_raw(C.RAPID_COMMIT, b"")
        available = profile.options
        if tx.reply_type == T.ADVERTISE and C.PREFERENCE in available:
            reply.add_raw(C.PREFERENCE, available[C.PREFERENCE])
        kind = request.msg_type
        if kind not in (T.RELEASE, T.DECLINE):
            for code in dict.fromkeys(request.oro or ()):
                if code in available and code not in (REFRESH, C.PREFERENCE):
                    reply.add_raw(code, available[code])
        if kind == T.INFORMATION_REQUEST:
            reply.add_raw(REFRESH, available.get(REFRESH)
                          or U32.encode(profile.information_refresh))
        tx.reply = reply


def status_reply(tx: Transaction6, code: int, message: str) -> None:
    """tx.reply: a REPLY with only the identifiers and a status (StatusReply)."""
    reply = reply_for(tx.message, T.REPLY, tx.server_duid)
    reply.add(C.STATUS_CODE, (code, message))
    tx.reply_type, tx.reply = T.REPLY, reply


def default_chain(policy: Policy6, store: ChainStore6, warn: Callable[[str], None],
                  standby: PeerMonitor | None = None, clock: Clock | None = None,
                  limits: Limits | None = None, allow_allocation: bool = True) -> list[Step]:
    """The steps in order; with a `standby` (ha.monitor.PeerMonitor) the chain is a
    standby's, silent while the master lives and, without `allow_allocation` (the seed's
    --allow-slave), handing out no new values (the gate runs between lookup and Leases6);
    with a clock and `limits`, RateLimit6 comes right after the message checks, before any
    store work for the client."""
    gate = [StandbyFilter6(standby)] if standby is not None else []
    limit = [RateLimit6(limits, clock)] if clock is not None and limits is not None else []
    hold = [StandbyAllocation6(store)] if standby is not None and not allow_allocation else []
    return [*gate, OwnDUID(policy, store), CheckMessage(), UnicastCheck(), *limit,
            ClientLookup6(store), OnNetwork(), Options6(warn), *hold,
            Leases6(policy, store, warn), Finish6()]
