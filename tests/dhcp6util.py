"""Helpers of the DHCPv6 server tests: client messages, relay chains, and a server on a fake
clock over the memory store (the IStore6 reference), its calls counted."""

import ipaddress

from twisted.internet import defer
from twisted.internet.task import Clock

from apidhcpd.dhcp6 import duid as duids
from apidhcpd.dhcp6.ia import IA, IA_NA, IA_PD, IAAddress, IAPrefix
from apidhcpd.dhcp6.message import Message, RelayMessage
from apidhcpd.dhcp6.options import MessageType as T
from apidhcpd.dhcp6.options import OptionCode as C
from apidhcpd.dhcp6.server import DHCP6Server
from apidhcpd.dhcp6.transaction import Link6, Policy6
from apidhcpd.dhcp6.values import CodeList, Enterprise, LinkLayer
from apidhcpd.store.contract import StoreUnavailable
from apidhcpd.store.contract6 import IAKey, Lease6
from apidhcpd.store.memory import MemoryStore

SERVER_MAC = "02:00:00:00:00:fe"
LINK = Link6("eth0", 2, "2001:db8:1::1", ipaddress.IPv6Network("2001:db8:1::/64"),
             "fe80::fe", SERVER_MAC)
SERVER_DUID = duids.duid_llt(SERVER_MAC, 1_000_000_000)
POLICY = Policy6("test/eth0", SERVER_DUID.hex())
OTHER_SERVER = duids.duid_ll("02:00:00:00:00:99")
MAC = "02:00:00:00:01:01"
CLIENT = duids.duid_ll(MAC)
RESERVED_MAC = "02:00:00:00:01:10"
NOW = 1_700_000_000


def na(iaid=1, *addresses):
    return IA(IA_NA, iaid, addresses=tuple(IAAddress(a) for a in addresses))


def pd(iaid=1, *prefixes):
    found = []
    for text in prefixes:
        network = ipaddress.IPv6Network(text)
        found.append(IAPrefix(str(network.network_address), network.prefixlen))
    return IA(IA_PD, iaid, prefixes=tuple(found))


def message(kind, *ias, client=CLIENT, server=None, oro=(C.DNS_SERVERS, C.DOMAIN_LIST),
            xid=0x123456, extra=()):
    options = []
    if client is not None:
        options.append((C.CLIENTID, client))
    if server is not None:
        options.append((C.SERVERID, server))
    options += [(ia.code, ia.encode()) for ia in ias]
    if oro is not None:
        options.append((C.ORO, CodeList.encode(list(oro))))
    options += list(extra)
    return Message(kind, xid, options)


def relayed(inner, link_address="2001:db8:2::1", peer="fe80::1:1", hops=0, options=()):
    return RelayMessage(T.RELAY_FORW, hops, link_address, peer, list(options), inner)


def interface_id(value):
    return (C.INTERFACE_ID, value)


def remote_id(value, enterprise=9):
    return (C.REMOTE_ID, Enterprise.encode((enterprise, value)))


def link_layer(mac):
    return (C.CLIENT_LINKLAYER_ADDR, LinkLayer.encode((1, bytes.fromhex(mac.replace(":", "")))))


INVENTORY = [
    ("group:default", {"dns6": "2001:db8::53", "domain": "example.test", "lease-time": "2h"}),
    ("subnet6:2001:db8:1::/64", {"range": "2001:db8:1::100-2001:db8:1::102",
                                 "pd-pool": "2001:db8:100::/54 56", "valid-lifetime": "1h",
                                 "preferred-lifetime": "30m"}),
    ("subnet6:2001:db8:2::/64", {"range": "2001:db8:2::100-2001:db8:2::1ff"}),
    ("mac:" + RESERVED_MAC, {"ip6": "2001:db8:1::10", "prefix6": "2001:db8:200::/56",
                             "hostname": "printer"}),
]


def inventory(store):
    for key, fields in INVENTORY:
        store.put(key, fields, "merge")


CALLS = frozenset(("lookup6", "leases6_of", "offer6", "bind6", "commit6", "commit6_reserved",
                   "release6", "decline6", "reclaim6", "server_duid"))


class Store6:
    """A MemoryStore as the DHCPv6 tests hold it: its IStore6 calls counted (`calls`) and
    failing while `down` (never answering while `hang`); hset() writes as the API does
    (put(), so the indexes follow); bindings() and lease() read its DHCPv6 leases."""

    def __init__(self):
        self.memory = MemoryStore()
        self.calls = []
        self.down = self.hang = False

    def __getattr__(self, name):
        target = getattr(self.memory, name)
        if name not in CALLS:
            return target

        def call(*args, **kw):
            self.calls.append(name)
            if self.hang:
                return defer.Deferred()
            if self.down:
                return defer.fail(StoreUnavailable("down"))
            return target(*args, **kw)
        return call

    def hset(self, key, **fields):
        self.memory.put(key, {k.replace("_", "-"): str(v) for k, v in fields.items()}, "merge")

    def bindings(self):
        """{IAKey: Lease6} of every offered or bound value."""
        return {r.ia: Lease6(r.ia, value, r.state, r.expires)
                for value, r in self.memory.leases6.items()
                if r.ia is not None and r.state in ("offered", "bound")}

    def lease(self, ia: IAKey):
        return self.bindings().get(ia)


class Rig:
    """A DHCP6Server over a Store6 with the inventory above, on a Clock at NOW."""

    def __init__(self, testcase, store=None, clock=None, **kw):
        self.testcase = testcase
        self.clock = clock or Clock()
        if clock is None:
            self.clock.advance(NOW)
        self.store = store or Store6()
        if store is None:
            inventory(self.store)
        self.warnings = []
        self.server = DHCP6Server(self.store, POLICY, self.clock, **kw)
        self.server._warn = self.warnings.append

    def ask(self, packet, unicast=False, link=LINK):
        results = []
        self.server.handle(packet, link, unicast).addCallback(results.append)
        self.clock.advance(0)
        self.testcase.assertEqual(len(results), 1, "no result yet")
        return results[0]
