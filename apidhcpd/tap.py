"""`twistd apidhcpd`: command-line options and the service tree.

Knows how the parts are wired (store, servers, protocols, heartbeat, timers) and checks every
option at start-up, so that a bad value fails with a one-line reason, never at the first packet.
Option parsing has no side effects: interfaces are read when the service is built
(makeService) and the DHCP sockets bound in privilegedStartService, before `twistd --uid`
drops root.
"""

import ipaddress
import os
import socket
import sys

import attr
from twisted.application import internet, service
from twisted.logger import Logger
from twisted.python import usage

from apidhcpd import collector
from apidhcpd.admin import api, metrics
from apidhcpd.dhcp4 import interface
from apidhcpd.dhcp4.profile import Link
from apidhcpd.dhcp4.protocol import DHCPProtocol
from apidhcpd.dhcp4.server import MAX_PENDING, Counters, DHCPServer
from apidhcpd.dhcp4.transaction import Policy
from apidhcpd.ha import heartbeat
from apidhcpd.ha import monitor as ha
from apidhcpd.ha.heartbeat import Health
from apidhcpd.inventory.durations import duration_seconds, parse_duration
from apidhcpd.limits import ratelimit
from apidhcpd.store.contract import IAdmin
from apidhcpd.store.http import HTTPStore
from apidhcpd.store.inventorycache import InventoryCache
from apidhcpd.store.outage import OutageCache
from apidhcpd.store.redis import RedisStore, RedisURL

log = Logger()


class Options(usage.Options):
    synopsis = "[options]"
    longdesc = "A DHCPv4 server that answers from an inventory in Redis."

    optFlags = [
        ["slave", None, "Standby mode: answer only while the master's heartbeat fails."],
        ["allow-slave", None, "In standby mode, also allocate new dynamic addresses."],
        ["authoritative", None, "NAK requests for addresses we have no record of."],
        ["quiet", "q", "Do not log every exchange (for benchmarks)."],
    ]
    optParameters = [
        ["interface", "i", "eth0", "Interface to serve; several: eth0,eth1."],
        ["ip", None, "0.0.0.0",
         "The server's address on the interface (default: read it); one per interface."],
        ["id", None, None,
         "Server identifier, option 54 (default: the server's address); one per interface."],
        ["port", None, 67, "UDP port to listen on.", int],
        ["heartbeat-port", None, 8079, "Port of GET /ping (0 disables it).", int],
        ["heartbeat-listen", None, "0.0.0.0",
         "Address GET /ping listens on (the master: where its standby reaches it)."],
        ["heartbeat-secret-file", None, None,
         "File holding a secret shared by master and standby: the master signs /ping with "
         "it, the standby accepts only signed beats."],
        ["api-url", None, None,
         "Ask a remote API node's legacy query (POST /) instead of Redis; the token of "
         "--api-token-file is sent with it."],
        ["master-ip", None, None, "The master's address (with --slave)."],
        ["master-id", None, None,
         "The master's server id (its --id) that its /ping must name (default: --master-ip)."],
        ["redis", None, "redis://127.0.0.1:6379/0",
         "Redis URL: redis://[user:password@]host:port/db, rediss://... (TLS; ?ca=FILE, "
         "?cert=FILE&key=FILE), unix://[user:password@]/path?db=N or "
         "redis+sentinel://host:port,.../service/db (docs/operations.md)."],
        ["offer-hold", None, "60s", "How long an offered address is held for the client."],
        ["decline-probation", None, "24h", "How long a declined address is quarantined."],
        ["reclaim-interval", None, "10s", "How often expired leases are reclaimed."],
        ["redis-timeout", None, "1s", "Deadline of each Redis call."],
        ["cache-ttl", None, "60s",
         "How long hosts, groups and subnets are kept in process (changes made through the "
         "API or the CLI are seen at once, others within this time); 0 turns the cache off."],
        ["peer-interval", None, "1s", "How often a standby polls the master's /ping."],
        ["peer-timeout", None, "0.5s", "How long a standby waits for the master's /ping."],
        ["workers", None, 1, "DHCP processes sharing the port (SO_REUSEPORT, spread by "
         "chaddr); the first also runs the API, heartbeat and timers.", int],
        ["worker-index", None, 0, "(internal) this process is worker number N.", int],
        ["max-pending", None, MAX_PENDING,
         "Requests in flight beyond which new ones are dropped (load shedding).", int],
        ["takeover-after", None, 3, "Missed beats before a standby takes over.", int],
        ["handback-after", None, 3, "Good beats before a standby hands back.", int],
        ["trusted-relays", None, None,
         "Comma list of relay addresses (giaddr) to accept; others are dropped."],
        ["rate-limit-client", None, "%g/s,%d" % attr.astuple(ratelimit.CLIENT),
         "Requests a client (chaddr) may send: RATE/s,BURST; 0 turns it off."],
        ["rate-limit-circuit", None, "%g/s,%d" % attr.astuple(ratelimit.CIRCUIT),
         "New clients (DISCOVER, INIT-REBOOT) one relay circuit-id or remote-id may bring: "
         "RATE/s,BURST; 0 turns it off."],
        ["api-listen", None, "127.0.0.1:8080", "Admin API address host:port ('none': no API)."],
        ["api-token-file", None, None, "File holding the bearer token that API writes need."],
        ["api-allowed-origins", None, "",
         "Comma list of web origins (https://host[:port]) whose pages may send API writes "
         "and the legacy query; requests with any other Origin header are refused."],
    ]

    def postOptions(self):
        if self["api-url"] and not self["api-url"].startswith(("http://", "https://")):
            raise usage.UsageError("--api-url must be an http:// or https:// URL")
        if self["slave"] and not self["master-ip"]:
            raise usage.UsageError("--slave needs --master-ip, the master to watch")
        if (self["allow-slave"] or self["master-ip"] or self["master-id"]) and not self["slave"]:
            raise usage.UsageError("--allow-slave, --master-ip and --master-id only make sense "
                                   "with --slave")
        try:
            self["redis-url"] = RedisURL.parse(self["redis"])
            for name in ("offer-hold", "decline-probation", "reclaim-interval"):
                self[name] = parse_duration(self[name])
            self["redis-timeout"] = _seconds(self["redis-timeout"])
            self["cache-ttl"] = _cache_ttl(self["cache-ttl"])
            for name in ("peer-interval", "peer-timeout"):
                self[name] = _seconds(self[name], "--" + name)
            if self["master-ip"]:
                self["master-ip"] = str(ipaddress.IPv4Address(self["master-ip"]))
                self["master-id"] = str(ipaddress.IPv4Address(self["master-id"]
                                                              or self["master-ip"]))
            self["heartbeat-listen"] = str(ipaddress.ip_address(self["heartbeat-listen"]))
            self["heartbeat-secret"] = heartbeat.read_secret(self["heartbeat-secret-file"])
            self["interfaces"] = _interfaces(self["interface"], self["ip"], self["id"])
            if self["trusted-relays"] is not None:
                self["trusted-relays"] = frozenset(
                    str(ipaddress.IPv4Address(a.strip()))
                    for a in self["trusted-relays"].split(",") if a.strip())
            self["rate-limits"] = ratelimit.Limits(
                client=_limit(self["rate-limit-client"], "--rate-limit-client"),
                circuit=_limit(self["rate-limit-circuit"], "--rate-limit-circuit"))
        except ValueError as e:
            raise usage.UsageError(str(e))
        if not 1 <= self["workers"] <= 16:
            raise usage.UsageError("--workers must be 1 to 16")
        if self["workers"] > 1 and len(self["interfaces"]) > 1:
            raise usage.UsageError("--workers serves one interface: run one process per "
                                   "interface instead")
        twistd = getattr(self, "parent", None)  # twistd's own options (--uid)
        if self["workers"] > 1 and twistd is not None and twistd.get("uid") is not None:
            raise usage.UsageError("--workers does not work with twistd --uid (the workers "
                                   "start without root and cannot bind the port): run as a "
                                   "user with CAP_NET_BIND_SERVICE (deploy/systemd)")
        for name in ("port", "heartbeat-port"):
            if not 0 <= self[name] <= 65535:
                raise usage.UsageError("--%s must be a port number" % name)
        try:
            self["api-address"] = api.parse_listen(self["api-listen"])
            self["api-token"] = api.read_token(self["api-token-file"])
            self["api-allowed-origins"] = api.parse_origins(self["api-allowed-origins"])
        except ValueError as e:
            raise usage.UsageError(str(e))


@attr.s(frozen=True)
class Served:
    """One --interface: its name, and the --ip and --id given for it (None: its own address)."""
    name: str = attr.ib()
    ip: str | None = attr.ib(default=None)
    server_id: str | None = attr.ib(default=None)


def _interfaces(names: str, ips: str, ids: str | None) -> tuple[Served, ...]:
    """--interface eth0,eth1 with --ip and --id: none, or one address per interface (0.0.0.0
    in --ip: read that interface's). Nothing is asked of the system here."""
    served = [name.strip() for name in names.split(",")]
    for name in served:
        if not name or len(name.encode()) > 15 or name in (".", "..") \
                or any(c in name for c in "/: \t\n"):
            raise ValueError("bad --interface name %r" % name)
        if served.count(name) > 1:
            raise ValueError("--interface names %s twice" % name)
    ip_list = _per_interface(ips, "--ip", len(served), default="0.0.0.0")
    id_list = _per_interface(ids, "--id", len(served))
    return tuple(Served(name, None if ip == "0.0.0.0" else ip, server_id)
                 for name, ip, server_id in zip(served, ip_list, id_list))


def _per_interface(text: str | None, name: str, count: int, default=None) -> list:
    if text is None or text == default:
        return [None] * count
    values = [str(ipaddress.IPv4Address(a.strip())) for a in text.split(",")]
    if len(values) != count:
        if count > 1 and len(values) == 1:
            raise ValueError("%s %s is one address for %d interfaces: give one per interface, "
                             "comma-separated, in the order of --interface" % (name, text, count))
        raise ValueError("%s gives %d addresses for %d interfaces" % (name, len(values), count))
    return values


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
            raise StartupError(str(e))
        address = served.ip or str(own.ip)
        out.append((served, Link(address, own.network), served.server_id or address))
    return out


def _limit(text, name):
    try:
        return ratelimit.parse_limit(text)
    except ValueError as e:
        raise ValueError("%s: %s" % (name, e))


def _cache_ttl(text):
    if text.strip() in ("0", "0s"):
        return 0
    try:
        return parse_duration(text)
    except ValueError as e:
        raise ValueError("bad --cache-ttl: %s" % e)


def _seconds(text, name="--redis-timeout"):
    """A short duration (a Go duration such as 500ms or 1.5s, or seconds), above 0 and at most
    a minute."""
    try:
        value = duration_seconds(text)
    except ValueError:
        value = 0
    if not 0 < value <= 60:
        raise ValueError("bad %s %r (a duration such as 500ms or 2s, at most 1m)" % (name, text))
    return value


def secret_file_warning(option: str, path: str | None) -> str | None:
    """A warning when the secret file of --`option` can be read by its group or by others."""
    if path is None:
        return None
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if mode & 0o077:
        return "--%s %s can be read by %s (mode %04o): chmod 600 it" % (
            option, path, "others" if mode & 0o007 else "its group", mode & 0o7777)
    return None


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
                               % (self.ifname, self.port_number, e.strerror or e))
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


def makeService(options, reactor=None):
    if reactor is None:
        from twisted.internet import reactor
    served = links(options)
    if options["api-url"]:
        backend = HTTPStore(options["api-url"], reactor, token=options["api-token"])
    else:
        backend = RedisStore(options["redis-url"], reactor, timeout=options["redis-timeout"])
        backend.trust_reserved_index = True  # the API's conflict checks cost O(1), not O(keys)
        if options["cache-ttl"]:
            backend = InventoryCache(backend, reactor, ttl=options["cache-ttl"])
        backend = OutageCache(backend, reactor, timeout=options["redis-timeout"])
    store = metrics.TimedStore(backend)
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
