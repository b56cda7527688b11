"""The command line of `twistd apidhcpd`: its options, and the check of every value.

Knows each option's meaning, default and help text, and turns the text given into the values
makeService uses (durations, addresses, URLs, limits), so that a bad value fails with a
one-line reason, never at the first packet. No side effects: nothing is asked of the system
(interfaces are read by tap.py, when the service is built). Knows nothing of how the parts
are wired (tap.py).
"""

import ipaddress
import os
from typing import ClassVar

import attr
from twisted.python import usage

from apidhcpd.admin import api
from apidhcpd.dhcp4.message import ZERO
from apidhcpd.dhcp4.server import MAX_PENDING
from apidhcpd.ha import heartbeat
from apidhcpd.inventory.durations import duration_seconds, parse_duration
from apidhcpd.limits import ratelimit
from apidhcpd.store.redis import RedisURL


class Options(usage.Options):
    synopsis = "[options]"
    longdesc = "A DHCPv4 and DHCPv6 server that answers from an inventory in Redis."

    optFlags: ClassVar[list[list[str | None]]] = [
        ["slave", None, "Standby mode: answer only while the master's heartbeat fails."],
        ["allow-slave", None, "In standby mode, also allocate new dynamic addresses."],
        ["authoritative", None, "NAK requests for addresses we have no record of."],
        ["quiet", "q", "Do not log every exchange (for benchmarks)."],
    ]
    optParameters: ClassVar[list[list[object]]] = [
        ["interface", "i", "eth0", "Interface to serve; several: eth0,eth1."],
        ["dhcp6", None, "auto",
         "DHCPv6 on the interfaces too: auto (on each interface that has a global IPv6 "
         "address), on (every interface must serve it, or start-up fails), off."],
        ["ip", None, ZERO,
         "The server's address on the interface (default: read it); one per interface."],
        ["id", None, None,
         "Server identifier, option 54 (default: the server's address); one per interface."],
        ["port", None, 67, "UDP port to listen on.", int],
        ["heartbeat-port", None, 8079, "Port of GET /ping (0 disables it).", int],
        ["heartbeat-listen", None, ZERO,
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
        if self["dhcp6"] not in ("auto", "on", "off"):
            raise usage.UsageError("--dhcp6 must be auto, on or off")
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
            raise usage.UsageError(str(e)) from e
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
            raise usage.UsageError(str(e)) from e


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
    ip_list = _per_interface(ips, "--ip", len(served), default=ZERO)
    id_list = _per_interface(ids, "--id", len(served))
    return tuple(Served(name, None if ip == ZERO else ip, server_id)
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


def _limit(text, name):
    try:
        return ratelimit.parse_limit(text)
    except ValueError as e:
        raise ValueError("%s: %s" % (name, e)) from e


def _cache_ttl(text):
    if text.strip() in ("0", "0s"):
        return 0
    try:
        return parse_duration(text)
    except ValueError as e:
        raise ValueError("bad --cache-ttl: %s" % e) from e


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
