"""`twistd apidhcpd`: the service tree.

Knows how the parts are wired (store, servers, protocols, heartbeat, timers); the options and
their checks are commandline.py's. Interfaces are read when the service is built
(makeService) and the DHCP sockets bound in privilegedStartService, before `twistd --uid`
drops root.
"""

import os
import socket
import sys
import uuid

from twisted.application import internet, service
from twisted.logger import Logger

from apidhcpd import collector
from apidhcpd.admin import api, metrics
from apidhcpd.commandline import Options as Options  # twistd's ServiceMaker reads it here
from apidhcpd.commandline import Served, secret_file_warning
from apidhcpd.dhcp4 import interface
from apidhcpd.dhcp4.profile import Link
from apidhcpd.dhcp4.protocol import DHCPProtocol
from apidhcpd.dhcp4.server import Counters, DHCPServer
from apidhcpd.dhcp4.transaction import Policy
from apidhcpd.dhcp6 import duid as duids
from apidhcpd.dhcp6 import interface as interface6
from apidhcpd.dhcp6.port import Port6
from apidhcpd.dhcp6.protocol import DHCP6Protocol
from apidhcpd.dhcp6.server import DHCP6Server
from apidhcpd.dhcp6.transaction import Link6, Policy6
from apidhcpd.ha import heartbeat
from apidhcpd.ha import monitor as ha
from apidhcpd.ha.heartbeat import Health
from apidhcpd.store.contract import IAdmin
from apidhcpd.store.contract6 import IStore6
from apidhcpd.store.http import HTTPStore
from apidhcpd.store.inventorycache import InventoryCache
from apidhcpd.store.outage import OutageCache
from apidhcpd.store.redis import RedisStore

log = Logger()


class StartupError(SystemExit):
    """What stops start-up once the options are parsed (an interface without an address, a
    port in use): twistd prints it as one line on stderr (or to its log) and exits 1."""

    def __init__(self, message):
        super().__init__("apidhcpd: " + message)


def links(options) -> list[tuple[Served, Link, str]]:
    """For each --interface: its Link (address and network, read from the interface now) and
    its server identifier."""
    out = []
    for served in options["interfaces"]:
        try:
            own = interface.address_of(served.name)
        except interface.InterfaceError as e:
            raise StartupError(str(e)) from e
        address = served.ip or str(own.ip)
        out.append((served, Link(address, own.network), served.server_id or address))
    return out


class DHCPService(service.Service):
    """The DHCP socket of one interface, bound in privilegedStartService: still as root, so
    that `twistd --uid` can drop root afterwards. With `workers` > 1 the socket joins an
    SO_REUSEPORT group, and the first process spreads clients over the group."""

    def __init__(self, protocol, port, ifname, reactor, workers=1, spread=False):
        self.protocol = protocol
        self.port_number = port
        self.ifname = ifname
        self.reactor = reactor
        self.workers = workers
        self.spread = spread
        self.port = None

    def privilegedStartService(self):
        super().privilegedStartService()
        self.listen()

    def startService(self):
        super().startService()
        if self.port is None:
            self.listen()
        log.info("serving DHCP on {ifname} ({link})", ifname=self.ifname,
                 link=self.protocol.link.network)

    def listen(self):
        try:
            sock = interface.dhcp_socket(self.ifname, self.port_number,
                                         reuseport=self.workers > 1)
        except OSError as e:
            raise StartupError("cannot listen on %s port %d: %s"
                               % (self.ifname, self.port_number, e.strerror or e)) from e
        try:
            if self.workers > 1 and self.spread:
                interface.spread_by_chaddr(sock, self.workers)
            self.port = self.reactor.adoptDatagramPort(sock.fileno(), socket.AF_INET,
                                                       self.protocol)
        finally:
            sock.close()  # the port holds its own duplicate

    def stopService(self):
        super().stopService()
        if self.port is not None:
            return self.port.stopListening()


def links6(options, store):
    """For each --interface that serves DHCPv6 (--dhcp6): its Link6, read from the interface
    now. `auto` leaves out, with a log line, an interface without a global IPv6 address and
    a store that cannot serve DHCPv6 (--api-url); `on` stops the start-up instead."""
    mode = options["dhcp6"]
    if mode == "off":
        return []
    if not (IStore6.providedBy(store) and callable(getattr(store, "lookup6", None))):
        if mode == "on":
            raise StartupError("--dhcp6 on: this store cannot serve DHCPv6 (--api-url?)")
        log.info("DHCPv6 left off: the store cannot serve it (--api-url)")
        return []
    out = []
    for served in options["interfaces"]:
        try:
            found = interface6.addresses_of(served.name)
        except interface6.InterfaceError as e:
            if mode == "on":
                raise StartupError(str(e)) from e
            log.info("DHCPv6 left off: {error}", error=e)
            continue
        if found.global_address is None:
            if mode == "on":
                raise StartupError("--dhcp6 on: interface %s has no global IPv6 address"
                                   % served.name)
            log.info("DHCPv6 left off on {ifname}: it has no global IPv6 address",
                     ifname=served.name)
            continue
        out.append(Link6(served.name, found.index, str(found.global_address.ip),
                         found.global_address.network, found.link_local, found.mac))
    return out


def policy6(options, link, now):
    """The DHCPv6 settings of one interface: its name in the store (host name and
    interface, under which its DUID is kept) and the DUID proposed for it, a DUID-LLT of
    the interface's MAC made now (a DUID-UUID where it has none)."""
    proposed = duids.duid_llt(link.mac, int(now)) if link.mac else duids.duid_uuid(uuid.uuid4())
    return Policy6(name="%s/%s" % (socket.gethostname(), link.name), proposed_duid=proposed.hex(),
                   offer_hold=options["offer-hold"],
                   decline_probation=options["decline-probation"])


class DHCP6Service(service.Service):
    """The DHCPv6 socket of one interface ([::]:547, ff02::1:2 joined), bound in
    privilegedStartService as the DHCPv4 one is. With `required` (--dhcp6 on) a socket that
    cannot be bound stops the start-up; otherwise DHCPv6 is left off there, logged."""

    def __init__(self, protocol, reactor, required=False, port=interface6.SERVER_PORT):
        self.protocol = protocol
        self.reactor = reactor
        self.required = required
        self.port_number = port
        self.port = None
        self.failed = False

    def privilegedStartService(self):
        super().privilegedStartService()
        self.listen()

    def startService(self):
        super().startService()
        if self.port is None and not self.failed:
            self.listen()
        if self.port is not None:
            log.info("serving DHCPv6 on {ifname} ({link})", ifname=self.protocol.link.name,
                     link=self.protocol.link.network)

    def listen(self):
        link = self.protocol.link
        try:
            sock = interface6.dhcp6_socket(link.name, link.index, self.port_number)
        except OSError as e:
            reason = "cannot listen on %s port %d (DHCPv6): %s" % (
                link.name, self.port_number, e.strerror or e)
            if self.required:
                raise StartupError(reason) from e
            log.warn("DHCPv6 left off: {reason}", reason=reason)
            self.failed = True
            return
        self.port = Port6(sock, self.protocol.received, self.reactor)
        self.protocol.port = self.port
        self.port.startReading()

    def stopService(self):
        super().stopService()
        if self.port is not None:
            self.port.stopListening()
            self.port = None


class StoreService(service.Service):
    def __init__(self, store):
        self.store = store

    def startService(self):
        super().startService()
        self.store.connect()

    def stopService(self):
        super().stopService()
        return self.store.disconnect()


def _periodic(seconds, call, name):
    def run():
        return call().addErrback(lambda f: log.debug("{name}: {error}", name=name,
                                                      error=f.getErrorMessage()))
    timer = internet.TimerService(seconds, run)
    timer.setName(name)
    return timer


def _workers(count, reactor):
    """Worker processes 1..count-1: this twistd's own command line plus --worker-index,
    restarted if they die (ProcessMonitor), their output in this process's log."""
    from twisted.runner.procmon import ProcessMonitor
    start = sys.argv.index("apidhcpd") + 1 if "apidhcpd" in sys.argv else len(sys.argv)
    argv = [sys.executable, "-c", "from twisted.scripts.twistd import run; run()",
            "-n", "--pidfile=", "-l", "-", "apidhcpd"] + sys.argv[start:]
    monitor = ProcessMonitor(reactor=reactor)
    for index in range(1, count):
        monitor.addProcess("worker-%d" % index, argv + ["--worker-index", str(index)],
                           env=dict(os.environ))
    return monitor


def role(monitor) -> str:
    return "standalone" if monitor is None else "standby, " + monitor.state


class AllProtocols:
    """What the API reads of the DHCP protocols (of either family) of several interfaces:
    their malformed packets, summed."""

    def __init__(self, protocols):
        self.protocols = protocols

    @property
    def malformed(self) -> int:
        return sum(p.malformed for p in self.protocols)


def _backend(options, reactor):
    """The store to serve from: the remote API node's (--api-url, DHCPv4 only), or Redis
    behind the inventory cache (unless --cache-ttl 0) and the outage cache, for DHCPv4 and
    DHCPv6 alike (the caches provide IStore6 as Redis does)."""
    if options["api-url"]:
        return HTTPStore(options["api-url"], reactor, token=options["api-token"])
    redis = RedisStore(options["redis-url"], reactor, timeout=options["redis-timeout"])
    redis.trust_reserved_index = True  # the API's conflict checks cost O(1), not O(keys)
    cached = InventoryCache(redis, reactor, ttl=options["cache-ttl"]) \
        if options["cache-ttl"] else redis
    return OutageCache(cached, reactor, timeout=options["redis-timeout"])


def makeService(options, reactor=None):
    if reactor is None:
        from twisted.internet import reactor
    served = links(options)
    store = metrics.TimedStore(_backend(options, reactor))
    health = Health(store, on_reached=[store.refresh_reserved], clock=reactor)
    for option in ("api-token-file", "heartbeat-secret-file"):
        warning = secret_file_warning(option, options[option])
        if warning:
            log.warn("{text}", text=warning)

    collector.tune()
    top = service.MultiService()
    collector.CollectorService().setServiceParent(top)
    StoreService(store).setServiceParent(top)
    worker = options["worker-index"] > 0
    if not worker:
        _periodic(1, health.check, "health").setServiceParent(top)
        _periodic(options["reclaim-interval"], lambda: store.reclaim(int(reactor.seconds())),
                  "reclaim").setServiceParent(top)
        if IStore6.providedBy(store):  # DHCPv6 leases too, whether or not served here
            _periodic(options["reclaim-interval"],
                      lambda: store.reclaim6(int(reactor.seconds())),
                      "reclaim6").setServiceParent(top)
        _periodic(300, store.refresh_reserved, "reserved-index").setServiceParent(top)
    monitor = None
    if options["slave"]:
        monitor = ha.PeerMonitor(
            "http://%s:%d/ping" % (options["master-ip"], options["heartbeat-port"] or 8079),
            reactor, timeout=options["peer-timeout"],
            takeover_after=options["takeover-after"], handback_after=options["handback-after"],
            master_id=options["master-id"], secret=options["heartbeat-secret"])
        _periodic(options["peer-interval"], monitor.poll, "peer").setServiceParent(top)
    counters = Counters()  # one count for the process, whichever interface a request came in on
    protocols = []
    for each, link, server_id in served:
        policy = Policy(server_id=server_id, authoritative=bool(options["authoritative"]),
                        offer_hold=options["offer-hold"],
                        decline_probation=options["decline-probation"],
                        trusted_relays=options["trusted-relays"])
        server = DHCPServer(store, policy, reactor, log_exchanges=not options["quiet"],
                            max_pending=options["max-pending"], limits=options["rate-limits"],
                            counters=counters, standby=monitor,
                            allow_allocation=bool(options["allow-slave"]))
        protocol = DHCPProtocol(server, link, each.name, relayed_only=worker)
        DHCPService(protocol, options["port"], each.name, reactor,
                    workers=options["workers"], spread=not worker).setServiceParent(top)
        protocols.append(protocol)
    if worker:
        return top  # DHCPv6 is the first process's: multicast reaches every socket
    counters6 = Counters()
    protocols6 = []
    for link6 in links6(options, store):
        server6 = DHCP6Server(store, policy6(options, link6, reactor.seconds()), reactor,
                              log_exchanges=not options["quiet"],
                              max_pending=options["max-pending"], counters=counters6,
                              standby=monitor, limits=options["rate-limits"],
                              allow_allocation=bool(options["allow-slave"]))
        protocols6.append(DHCP6Protocol(server6, link6))
        DHCP6Service(protocols6[-1], reactor,
                     required=options["dhcp6"] == "on").setServiceParent(top)
    if options["workers"] > 1:  # after the DHCP socket: this process is socket 0 of the group
        _workers(options["workers"], reactor).setServiceParent(top)
    if options["heartbeat-port"]:
        internet.TCPServer(options["heartbeat-port"], heartbeat.heartbeat_factory(
            health, lambda: role(monitor), served[0][2], options["heartbeat-secret"], reactor),
            interface=options["heartbeat-listen"]).setServiceParent(top)
    if options["api-address"] and IAdmin.providedBy(store):  # not with --api-url
        host, port = options["api-address"]
        # the legacy query (POST /) places a request on the first interface's link
        first, link = protocols[0].server, protocols[0].link
        admin = api.AdminAPI(store, first, link, options["api-token"], reactor,
                             protocol=protocols[0] if len(protocols) == 1
                             else AllProtocols(protocols),
                             role=lambda: role(monitor),
                             allowed_origins=options["api-allowed-origins"],
                             counters6=counters6, protocol6=AllProtocols(protocols6))
        internet.TCPServer(port, admin.site(), interface=host,
                           reactor=reactor).setServiceParent(top)
    return top
