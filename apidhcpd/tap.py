"""`twistd apidhcpd`: the service tree.

Knows how the parts are wired (store, servers, protocols, heartbeat, timers); the options and
their checks are commandline.py's. Interfaces are read when the service is built
(makeService) and the DHCP sockets bound in privilegedStartService, before `twistd --uid`
drops root.
"""

import os
import socket
import sys

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
from apidhcpd.ha import heartbeat
from apidhcpd.ha import monitor as ha
from apidhcpd.ha.heartbeat import Health
from apidhcpd.store.contract import IAdmin
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
    """What the API reads of the DHCP protocols of several interfaces: their malformed
    packets, summed."""

    def __init__(self, protocols):
        self.protocols = protocols

    @property
    def malformed(self) -> int:
        return sum(p.malformed for p in self.protocols)


def _backend(options, reactor):
    """The store to serve from: the remote API node's (--api-url), or Redis behind the
    inventory cache (unless --cache-ttl 0) and the outage cache."""
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
        return top
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
                             allowed_origins=options["api-allowed-origins"])
        internet.TCPServer(port, admin.site(), interface=host,
                           reactor=reactor).setServiceParent(top)
    return top
