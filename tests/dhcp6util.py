"""Helpers of the DHCPv6 server tests: client messages, relay chains, and a server on a fake
clock over an IStore6 (tests/dhcp6fake.py until v6store is merged)."""

import ipaddress

from twisted.internet.task import Clock

from apidhcpd.dhcp6 import duid as duids
from apidhcpd.dhcp6.ia import IA, IA_NA, IA_PD, IAAddress, IAPrefix
from apidhcpd.dhcp6.message import Message, RelayMessage
from apidhcpd.dhcp6.options import MessageType as T
from apidhcpd.dhcp6.options import OptionCode as C
from apidhcpd.dhcp6.server import DHCP6Server
from apidhcpd.dhcp6.transaction import Link6, Policy6
from apidhcpd.dhcp6.values import CodeList, Enterprise, LinkLayer
from tests.dhcp6fake import FakeStore6

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


def inventory(store):
    store.hset("group:default", dns6="2001:db8::53", domain="example.test", lease_time="2h")
    store.hset("subnet6:2001:db8:1::/64", range="2001:db8:1::100-2001:db8:1::102",
               pd_pool="2001:db8:100::/54 56", valid_lifetime="1h",
               preferred_lifetime="30m")
    store.hset("subnet6:2001:db8:2::/64", range="2001:db8:2::100-2001:db8:2::1ff")
    store.hset("mac:" + RESERVED_MAC, ip6="2001:db8:1::10", prefix6="2001:db8:200::/56",
               hostname="printer")


class Rig:
    """A DHCP6Server over a FakeStore6 with the inventory above, on a Clock at NOW."""

    def __init__(self, testcase, store=None, **kw):
        self.testcase = testcase
        self.clock = Clock()
        self.clock.advance(NOW)
        self.store = store or FakeStore6()
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
