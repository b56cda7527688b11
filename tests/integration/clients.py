"""Run real DHCP clients once inside a :class:`~.netns.Host` namespace.

Each wrapper starts the client under ``ip netns exec NS unshare --mount
--pid --fork --kill-child``: the client sees only the test namespace's
interfaces, gets private bind mounts for any state directory it insists on,
and everything it forks dies with it (so no daemon is ever left behind).
The client's hook script only dumps its environment to a file; nothing is
configured unless ``configure=True`` (and then only inside the namespace).

All waits are bounded.  Each wrapper returns a :class:`Lease`.

Also here: :func:`start_udhcpd`, busybox's udhcpd as a reference server.
"""

import datetime
import ipaddress
import os
import subprocess
import time
from dataclasses import dataclass, field

CLIENT_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}

# A hook script usable by every client: one NUL-separated env dump per call.
HOOK = """#!/bin/sh
export SCRIPT_ARGS="$*"
f="{dir}/ev.$(date +%s.%N).$$"
env -0 > "$f.tmp" && mv "$f.tmp" "$f"
"""

# Bind each (src, dst) pair given before "--", then exec the command after it.
BIND_AND_EXEC = ('while [ "$1" != "--" ]; do mount --bind "$1" "$2" || exit 97; '
                 'shift 2; done; shift; exec "$@"')

SUCCESS = {"BOUND", "RENEW", "REBIND", "REBOOT", "TEST", "INFORM", "STATIC",
           "bound", "renew"}


@dataclass
class Lease:
    """What a client reported (``ok`` is False when it got no lease)."""

    client: str
    ok: bool = False
    reason: str | None = None
    ip: str | None = None
    netmask: str | None = None
    prefix: int | None = None
    routers: list[str] = field(default_factory=list)
    dns: list[str] = field(default_factory=list)
    domain: str | None = None
    lease_time: int | None = None
    server_id: str | None = None
    hostname: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, str]] = field(default_factory=list)
    lease_text: str = ""
    log: str = ""
    returncode: int | None = None
    elapsed: float = 0.0
    workdir: str | None = None
    lease_file: str | None = None
    iface: str | None = None

    @property
    def reasons(self):
        """The reason of every hook call, in order."""
        return [e.get("reason") or e.get("SCRIPT_ARGS", "").split(" ")[0]
                for e in self.events]


# ---------------------------------------------------------------- helpers

def _write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def _read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _prepare(host, name):
    """A work dir in the Lan's workdir with the hook script in it."""
    wd = host.lan.mkdtemp(name + "-" + host.name)
    evdir = os.path.join(wd, "events")
    os.mkdir(evdir)
    script = _write(os.path.join(wd, "hook.sh"), HOOK.format(dir=evdir), 0o755)
    return wd, evdir, script


def _events(evdir):
    out = []
    for name in sorted(os.listdir(evdir),
                       key=lambda n: [int(p) if p.isdigit() else 0
                                      for p in n.split(".")[1:4]]):
        if name.endswith(".tmp"):
            continue
        raw = _read(os.path.join(evdir, name))
        env = dict(kv.split("=", 1) for kv in raw.split("\0") if "=" in kv)
        if "reason" not in env and env.get("SCRIPT_ARGS"):
            env["reason"] = env["SCRIPT_ARGS"].split(" ")[0]  # udhcpc
        out.append(env)
    return out


def isolated_argv(argv, binds=()):
    """Wrap argv: private mount + pid namespaces, ``binds`` = [(src, dst)]."""
    flat = [x for pair in binds for x in pair]
    return (["unshare", "--mount", "--pid", "--fork", "--kill-child",
             "--mount-proc", "--propagation", "private",
             "sh", "-c", BIND_AND_EXEC, "sh"] + flat + ["--"] + list(argv))


def _run_until(host, argv, wd, evdir, timeout, done=None, binds=()):
    """Spawn argv isolated; stop at exit, at ``done(events)``, or timeout."""
    log_path = os.path.join(wd, "client.log")
    start = time.monotonic()
    with open(log_path, "w") as log:
        proc = host.spawn(isolated_argv(argv, binds), env=CLIENT_ENV,
                          stdout=log)
    deadline = start + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if done is not None and done(_events(evdir)):
            break
        time.sleep(0.05)
    if proc.poll() is None:
        # unshare ignores SIGTERM while it waits; SIGKILL it and --kill-child
        # takes the client (pid 1 of its pid namespace) and its forks along.
        proc.kill()
        proc.wait(timeout=5)
    return proc.returncode, time.monotonic() - start, _read(log_path)


def _succeeded(events):
    return any(e.get("reason") in SUCCESS for e in events)


def _split(value):
    return [v for v in (value or "").replace(",", " ").split() if v]


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _mask_to_prefix(mask):
    try:
        return ipaddress.ip_network("0.0.0.0/%s" % mask).prefixlen
    except ValueError:
        return None


def _prefix_to_mask(prefix):
    return str(ipaddress.ip_network("0.0.0.0/%d" % prefix).netmask)


def _lease_from_events(client, events, prefix_var="new_"):
    """Build a Lease from the last successful hook call."""
    res = Lease(client=client, events=events)
    good = [e for e in events if e.get("reason") in SUCCESS]
    env = good[-1] if good else (events[-1] if events else {})
    res.env = env
    res.reason = env.get("reason")
    res.ok = bool(good)
    if client == "udhcpc":
        g = env.get
        res.ip, res.netmask = g("ip"), g("subnet")
        res.prefix = _int(g("mask"))
        res.routers, res.dns = _split(g("router")), _split(g("dns"))
        res.domain, res.lease_time = g("domain"), _int(g("lease"))
        res.server_id, res.hostname = g("serverid"), g("hostname")
    else:
        def g(k):
            return env.get(prefix_var + k)
        res.ip, res.netmask = g("ip_address"), g("subnet_mask")
        res.prefix = _int(g("subnet_cidr"))
        res.routers = _split(g("routers"))
        res.dns = _split(g("domain_name_servers"))
        res.domain, res.lease_time = g("domain_name"), _int(g("dhcp_lease_time"))
        res.server_id, res.hostname = g("dhcp_server_identifier"), g("host_name")
    if res.prefix is None and res.netmask:
        res.prefix = _mask_to_prefix(res.netmask)
    if res.netmask is None and res.prefix is not None:
        res.netmask = _prefix_to_mask(res.prefix)
    return res


def _finish(res, host, iface, wd, rc, elapsed, log, configure):
    res.returncode, res.elapsed, res.log = rc, elapsed, log
    res.workdir, res.iface = wd, iface
    if configure and res.ok and res.ip and res.prefix is not None:
        cidr = "%s/%d" % (res.ip, res.prefix)
        if cidr not in host.addresses(iface):
            host.add_address(cidr, iface=iface)
    return res


def _hex_colons(hexstr):
    h = hexstr.replace(":", "").replace("-", "")
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))


# ---------------------------------------------------------------- dhclient

def _dhclient_conf(wd, timeout, hostname, client_id, extra_conf):
    lines = [
        "timeout %d;" % max(1, int(timeout)),
        "retry 1;",
        "reboot 4;",
        "initial-interval 1;",
        "backoff-cutoff 2;",
        "request subnet-mask, broadcast-address, routers, domain-name,",
        "        domain-name-servers, host-name, dhcp-lease-time;",
    ]
    if hostname:
        lines.append('send host-name "%s";' % hostname)
    if client_id:
        lines.append("send dhcp-client-identifier %s;" % _hex_colons(client_id))
    lines.extend(extra_conf)
    return _write(os.path.join(wd, "dhclient.conf"), "\n".join(lines) + "\n")


def _dhclient_argv(wd, script, lease_file, iface, extra_args, *flags):
    return (["dhclient", "-4", "-v", "-cf", os.path.join(wd, "dhclient.conf"),
             "-sf", script, "-lf", lease_file,
             "-pf", os.path.join(wd, "dhclient.pid")]
            + list(flags) + list(extra_args) + [iface])


def run_dhclient(host, timeout=15, lease_file=None, extra_args=(), *,
                 iface=None, hostname=None, client_id=None, extra_conf=(),
                 configure=False):
    """Run ``dhclient -1 -d`` until it binds (or ``timeout``); return a Lease.

    With an existing ``lease_file`` holding an unexpired lease, dhclient
    starts with INIT-REBOOT (REQUEST for that address, no server id).
    """
    iface = iface or host.iface
    wd, evdir, script = _prepare(host, "dhclient")
    _dhclient_conf(wd, timeout, hostname, client_id, extra_conf)
    if lease_file is None:
        lease_file = os.path.join(wd, "dhclient.leases")
    if not os.path.exists(lease_file):
        _write(lease_file, "")
    argv = _dhclient_argv(wd, script, lease_file, iface, extra_args, "-1", "-d")
    rc, elapsed, log = _run_until(host, argv, wd, evdir, timeout + 5,
                                  done=_succeeded)
    res = _lease_from_events("dhclient", _events(evdir))
    res.lease_file, res.lease_text = lease_file, _read(lease_file)
    return _finish(res, host, iface, wd, rc, elapsed, log, configure)


def dhclient_renew(host, previous, timeout=15, **kw):
    """Run dhclient again on ``previous.lease_file``: INIT-REBOOT, reason REBOOT."""
    kw.setdefault("iface", previous.iface)
    return run_dhclient(host, timeout=timeout, lease_file=previous.lease_file,
                        **kw)


def dhclient_release(host, previous, timeout=10):
    """``dhclient -r`` on ``previous.lease_file``: unicasts a DHCPRELEASE.

    dhclient sends the RELEASE through a plain UDP socket, which needs the
    leased address on the interface: it is added for the call if missing and
    removed again afterwards.  Returns a Lease whose reason is RELEASE.
    """
    iface = previous.iface or host.iface
    wd, evdir, script = _prepare(host, "dhclient-r")
    _dhclient_conf(wd, timeout, None, None, ())
    cidr = "%s/%d" % (previous.ip, previous.prefix or 24)
    added = cidr not in host.addresses(iface)
    if added:
        host.add_address(cidr, iface=iface)
    try:
        argv = _dhclient_argv(wd, script, previous.lease_file, iface, (), "-r")
        rc, elapsed, log = _run_until(host, argv, wd, evdir, timeout)
    finally:
        if added:
            host.run(["ip", "addr", "del", cidr, "dev", iface], check=False)
    res = _lease_from_events("dhclient", _events(evdir), prefix_var="old_")
    res.ok = rc == 0 and "RELEASE" in res.reasons
    res.lease_file, res.lease_text = previous.lease_file, _read(previous.lease_file)
    return _finish(res, host, iface, wd, rc, elapsed, log, False)


def write_dhclient_lease(path, iface, ip, server_id=None, netmask="255.255.255.0",
                         lease_time=3600, expires_in=3600):
    """Write a dhclient lease file that makes dhclient INIT-REBOOT for ``ip``."""
    def when(seconds):
        t = datetime.datetime.now(datetime.timezone.utc) + \
            datetime.timedelta(seconds=seconds)
        # dhclient's format: weekday (0 = Sunday) YYYY/MM/DD HH:MM:SS, UTC.
        return "%d %s" % ((t.weekday() + 1) % 7, t.strftime("%Y/%m/%d %H:%M:%S"))
    lines = ["lease {", '  interface "%s";' % iface, "  fixed-address %s;" % ip,
             "  option subnet-mask %s;" % netmask,
             "  option dhcp-lease-time %d;" % lease_time]
    if server_id:
        lines.append("  option dhcp-server-identifier %s;" % server_id)
    lines += ["  renew %s;" % when(expires_in // 2),
              "  rebind %s;" % when(expires_in * 7 // 8),
              "  expire %s;" % when(expires_in), "}"]
    return _write(path, "\n".join(lines) + "\n")


# ---------------------------------------------------------------- udhcpc

def run_udhcpc(host, timeout=10, *, iface=None, client_id=None, hostname=None,
               requested_ip=None, release=False, broadcast=False,
               extra_args=(), configure=False):
    """Run ``busybox udhcpc -f -q -n`` once; return a Lease.

    ``client_id``: None sends udhcpc's default (01 + MAC), False sends none
    (-C), a hex string sends that option 61 value.  ``release`` (-R) sends a
    DHCPRELEASE when udhcpc exits right after binding.
    """
    iface = iface or host.iface
    wd, evdir, script = _prepare(host, "udhcpc")
    tries = max(1, int(timeout) // 2)
    argv = ["busybox", "udhcpc", "-f", "-q", "-n", "-t", str(tries), "-T", "2",
            "-A", "1", "-i", iface, "-s", script]
    if client_id is False:
        argv.append("-C")
    elif client_id:
        argv += ["-x", "0x3d:" + client_id.replace(":", "")]
    if hostname:
        argv += ["-x", "hostname:" + hostname]
    if requested_ip:
        argv += ["-r", requested_ip]
    if release:
        argv.append("-R")
    if broadcast:
        argv.append("-B")
    argv += list(extra_args)
    rc, elapsed, log = _run_until(host, argv, wd, evdir, tries * 2 + 5)
    res = _lease_from_events("udhcpc", _events(evdir))
    return _finish(res, host, iface, wd, rc, elapsed, log, configure)


# ---------------------------------------------------------------- dhcpcd

def run_dhcpcd(host, timeout=10, *, iface=None, test=False, inform=None,
               hostname=None, client_id="", extra_conf=(), extra_args=()):
    """Run ``dhcpcd -4 -1 -B`` once with a private config and state dirs.

    Default: full DORA, exits once bound (dhcpcd itself configures the
    address and routes, inside the namespace only).  ``test=True`` uses -T:
    stops at the OFFER (reason TEST) and configures nothing.
    ``inform="ADDR/CIDR"`` sends DHCPINFORM (reason INFORM if ACKed).
    ``client_id``: "" sends 01 + MAC, a hex string sends that.
    """
    iface = iface or host.iface
    wd, evdir, script = _prepare(host, "dhcpcd")
    run_dir, db_dir = os.path.join(wd, "run"), os.path.join(wd, "db")
    os.mkdir(run_dir)
    os.mkdir(db_dir)
    conf = ["noarp", "nodelay", "noipv4ll", "ipv4only", "persistent",
            "option domain_name_servers, domain_name, host_name",
            "clientid %s" % (_hex_colons(client_id) if client_id else "")]
    if hostname:
        conf.append("hostname %s" % hostname)
    conf.extend(extra_conf)
    conf_path = _write(os.path.join(wd, "dhcpcd.conf"), "\n".join(conf) + "\n")
    # dhcpcd 9.4.1's privilege separation crashes (SIGSEGV) in -T and inform
    # modes; without its "dhcpcd" user it runs without privsep.
    passwd = _write(os.path.join(wd, "passwd"),
                    "".join(line for line in open("/etc/passwd")
                            if not line.startswith("dhcpcd:")))
    binds = [(run_dir, "/run"), (db_dir, "/var/lib/dhcpcd"),
             (passwd, "/etc/passwd")]
    argv = ["dhcpcd", "-4", "-1", "-B", "-d", "-t", str(int(timeout)),
            "-f", conf_path, "-c", script]
    if test:
        argv.append("-T")
    if inform:
        # dhcpcd 9.4.1 crashes in inform mode unless the address is present.
        cidr = inform if "/" in inform else inform + "/24"
        if cidr not in host.addresses(iface):
            host.add_address(cidr, iface=iface)
        argv += ["-s", cidr]
    argv += list(extra_args) + [iface]
    rc, elapsed, log = _run_until(host, argv, wd, evdir, timeout + 5,
                                  binds=binds)
    res = _lease_from_events("dhcpcd", _events(evdir))
    if inform:
        res.ok = res.reason == "INFORM"
    res.lease_text = "".join(_read(os.path.join(db_dir, n))
                             for n in sorted(os.listdir(db_dir)))
    return _finish(res, host, iface, wd, rc, elapsed, log, False)


# ---------------------------------------------------------------- udhcpd

@dataclass
class Udhcpd:
    """A running busybox udhcpd (reference server for rig tests)."""

    proc: subprocess.Popen
    conf_path: str
    lease_file: str
    log_path: str

    def log(self):
        return _read(self.log_path)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def start_udhcpd(host, start="192.0.2.100", end="192.0.2.199",
                 subnet="255.255.255.0", router="192.0.2.1",
                 dns=("192.0.2.53", "192.0.2.54"), domain="example.test",
                 lease=600, iface=None, extra=(), arp_ms=50):
    """Start ``busybox udhcpd -f`` on ``host`` (which needs an address)."""
    for a in (start, end, router) + tuple(dns):
        if a:
            ipaddress.ip_address(a)
    wd = host.lan.mkdtemp("udhcpd-" + host.name)
    lease_file = _write(os.path.join(wd, "udhcpd.leases"), "")
    count = int(ipaddress.ip_address(end)) - int(ipaddress.ip_address(start)) + 1
    lines = ["interface %s" % (iface or host.iface),
             "start %s" % start, "end %s" % end,
             "max_leases %d" % count,
             "lease_file %s" % lease_file,
             "pidfile %s" % os.path.join(wd, "udhcpd.pid"),
             "opt subnet %s" % subnet, "opt lease %d" % lease]
    if router:
        lines.append("opt router %s" % router)
    if dns:
        lines.append("opt dns %s" % " ".join(dns))
    if domain:
        lines.append("opt domain %s" % domain)
    lines.extend(extra)
    conf = _write(os.path.join(wd, "udhcpd.conf"), "\n".join(lines) + "\n")
    log_path = os.path.join(wd, "udhcpd.log")
    with open(log_path, "w") as log:
        proc = host.spawn(["busybox", "udhcpd", "-f", "-a", str(arp_ms), conf],
                          env=CLIENT_ENV, stdout=log)
    server = Udhcpd(proc, conf, lease_file, log_path)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "started" not in server.log():
        if proc.poll() is not None:
            raise RuntimeError("udhcpd exited: %s" % server.log())
        time.sleep(0.05)
    return server

