"""Real DHCPv6 clients in a :class:`~.netns.Host` namespace: ISC ``dhclient -6``, run as
clients.py runs the DHCPv4 ones (private mount and pid namespaces, a hook script that only
dumps its environment, bounded waits, stopped by PID), and the IPv6 set-up of a test host.

Addresses only from 2001:db8::/32 (netns.check_doc_address).
"""

import os
import time
from dataclasses import dataclass, field

from tests.integration import clients
from tests.integration.netns import check_doc_address

BOUND = ("BOUND6",)


def enable_ipv6(host, iface=None):
    """IPv6 on the host's interface (the Lan turns it off), without duplicate address
    detection, and wait (bounded) for its link-local address."""
    iface = iface or host.iface
    host.run(["sysctl", "-q", "-w",
              "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
              "net.ipv6.conf.%s.accept_dad=0" % iface,
              "net.ipv6.conf.all.disable_ipv6=0", "net.ipv6.conf.default.disable_ipv6=0",
              "net.ipv6.conf.%s.disable_ipv6=0" % iface])
    deadline = time.monotonic() + 5
    out = ""
    while time.monotonic() < deadline:
        out = host.run(["ip", "-6", "-o", "addr", "show", "dev", iface, "scope", "link"]).stdout
        if "fe80::" in out and "tentative" not in out:
            return
        time.sleep(0.05)
    raise AssertionError("no link-local address on %s: %r" % (host.name, out))


def add_address6(host, cidr, iface=None):
    """A 2001:db8::/32 address on the host's interface, usable at once (no DAD)."""
    check_doc_address(cidr)
    host.run(["ip", "-6", "addr", "add", cidr, "dev", iface or host.iface, "nodad"])


@dataclass
class Event:
    """One call of the hook: its reason and the lease it was told of."""

    reason: str
    address: str | None = None
    prefix: str | None = None
    iaid: str | None = None
    preferred: int | None = None
    valid: int | None = None
    renew: int | None = None
    rebind: int | None = None
    dns: list[str] = field(default_factory=list)
    search: list[str] = field(default_factory=list)
    server_id: str | None = None
    env: dict[str, str] = field(default_factory=dict)


def _event(env, prefix="new_"):
    def g(name):
        return env.get(prefix + name)

    def n(name):
        value = g(name)
        return int(value) if value and value.isdigit() else None
    return Event(reason=env.get("reason", ""), address=g("ip6_address"), prefix=g("ip6_prefix"),
                 iaid=g("iaid"), preferred=n("preferred_life"), valid=n("max_life"),
                 renew=n("renew"), rebind=n("rebind"),
                 dns=(g("dhcp6_name_servers") or "").split(),
                 search=[s.rstrip(".") for s in (g("dhcp6_domain_search") or "").split()],
                 server_id=g("dhcp6_server_id"), env=env)


class Dhclient6:
    """``dhclient -6 -d`` (flags such as -N, -P) on one interface, its own config, lease and
    pid files in a work dir of the Lan; stopped by PID (``stop``) or by the Lan's teardown."""

    def __init__(self, host, *flags, iface=None, duid="LL", lease_file=None,
                 request=("dhcp6.name-servers", "dhcp6.domain-search")):
        self.host = host
        self.iface = iface or host.iface
        self.flags = list(flags)
        self.duid = duid
        self.wd, self.evdir, self.script = clients._prepare(host, "dhclient6")
        self.conf = os.path.join(self.wd, "dhclient6.conf")
        with open(self.conf, "w") as f:
            f.write("request %s;\n" % ", ".join(request) if request else "")
        self.lease_file = lease_file or os.path.join(self.wd, "dhclient6.leases")
        if not os.path.exists(self.lease_file):
            open(self.lease_file, "w").close()
        self.log_path = os.path.join(self.wd, "client.log")
        self.proc = None

    def argv(self, *extra, pid="dhclient6.pid"):
        return (["dhclient", "-6", "-v", "-d", "-D", self.duid, "-cf", self.conf,
                 "-lf", self.lease_file, "-pf", os.path.join(self.wd, pid), "-sf", self.script]
                + self.flags + list(extra) + [self.iface])

    def start(self):
        with open(self.log_path, "a") as log:
            self.proc = self.host.spawn(clients.isolated_argv(self.argv()),
                                        env=clients.CLIENT_ENV, stdout=log)
        return self

    def events(self):
        return [_event(env) for env in clients._events(self.evdir)]

    def wait(self, reasons=BOUND, count=1, timeout=20):
        """The events so far once `count` of them have one of `reasons` (or the time is up,
        or the client exited)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.events()
            if sum(e.reason in reasons for e in found) >= count:
                return found
            if self.proc is not None and self.proc.poll() is not None:
                break
            time.sleep(0.05)
        return self.events()

    def stop(self):
        """Kill the client (the unshare wrapper, by PID: --kill-child takes dhclient)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def release(self, timeout=15):
        """``dhclient -6 -r`` on this client's lease file (after stop()): a RELEASE; the
        RELEASE6 event (old_ values) or None."""
        self.stop()
        before = len(self.events())
        with open(self.log_path, "a") as log:
            proc = self.host.spawn(clients.isolated_argv(self.argv("-r", pid="release.pid")),
                                   env=clients.CLIENT_ENV, stdout=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        envs = clients._events(self.evdir)[before:]
        return next((_event(env, "old_") for env in envs if env.get("reason") == "RELEASE6"),
                    None)

    def log(self):
        return clients._read(self.log_path)


def run_dhcpcd6(host, timeout=15, iface=None):
    """``dhcpcd -6 -1 -B`` once, with a private config and state dirs (as clients.run_dhcpcd
    runs the DHCPv4 one): `ia_na` in its config makes it solicit at once, without waiting for
    a router advertisement (none is sent in the tests). Returns (its events' environments,
    its log)."""
    iface = iface or host.iface
    wd, evdir, script = clients._prepare(host, "dhcpcd6")
    run_dir, db_dir = os.path.join(wd, "run"), os.path.join(wd, "db")
    os.mkdir(run_dir)
    os.mkdir(db_dir)
    conf = clients._write(os.path.join(wd, "dhcpcd.conf"), "\n".join([
        "ipv6only", "noipv6rs", "nodelay", "ia_na 1",
        "option dhcp6_name_servers, dhcp6_domain_search"]) + "\n")
    passwd = clients._write(os.path.join(wd, "passwd"),
                            "".join(line for line in open("/etc/passwd")
                                    if not line.startswith("dhcpcd:")))
    argv = ["dhcpcd", "-6", "-1", "-B", "-d", "-t", str(int(timeout)), "-f", conf,
            "-c", script, iface]
    binds = [(run_dir, "/run"), (db_dir, "/var/lib/dhcpcd"), (passwd, "/etc/passwd")]
    _, _, log = clients._run_until(
        host, argv, wd, evdir, timeout + 5, binds=binds,
        done=lambda events: any(e.get("reason") == "BOUND6" for e in events))
    return clients._events(evdir), log
