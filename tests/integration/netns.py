"""Throwaway network topologies in Linux network namespaces.

A :class:`Lan` is a bridge living in its own "switch" namespace; every host
is another namespace joined to that bridge by a veth pair.  Nothing is ever
created in (or attached to) the root namespace: veth pairs are created
directly inside the switch namespace with their peer end moved straight into
the host namespace.

Only documentation address ranges may be used (192.0.2.0/24,
198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32); :meth:`Lan.add_host` refuses others.

Typical use from a trial test::

    require_root_and_tools(self, "busybox")
    lan = make_lan(self)               # torn down by addCleanup
    srv = lan.add_host("srv", "192.0.2.1/24")
    cli = lan.add_host("cli")
    proc = srv.spawn(["busybox", "udhcpd", "-f", conf])
"""

import ipaddress
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

PREFIX = "adh"
DOC_NETS = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
IP = shutil.which("ip") or "/usr/sbin/ip"


def _sh(argv, check=True, timeout=20, **kw):
    """Run a command in the current (root) namespace, capturing output."""
    return subprocess.run(
        argv, check=check, timeout=timeout, text=True,
        capture_output=True, **kw)


def random_mac():
    """A random locally administered unicast MAC address."""
    b = bytearray(secrets.token_bytes(6))
    b[0] = (b[0] & 0xFC) | 0x02
    return ":".join("%02x" % x for x in b)


def check_doc_address(ip_cidr):
    """Raise ValueError unless ip_cidr lies in a documentation range."""
    iface = ipaddress.ip_interface(ip_cidr)
    if not any(iface.network.subnet_of(n) for n in DOC_NETS
               if n.version == iface.version):
        raise ValueError("%s is not in a documentation range" % ip_cidr)
    return iface


def our_namespaces():
    """Names of the existing namespaces created by this module."""
    out = _sh([IP, "netns", "list"], check=False).stdout
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    return [n for n in names if n.startswith(PREFIX)]


def missing_tools(*tools):
    """Return the subset of tools not found on PATH or in sbin dirs."""
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin:/usr/bin:/bin"
    return [t for t in tools if not shutil.which(t, path=path)]


def require_root_and_tools(testcase, *tools):
    """Skip ``testcase`` unless running as root with ``ip`` and ``tools``."""
    if os.geteuid() != 0:
        raise unittest.SkipTest("integration tests need root (network namespaces)")
    missing = missing_tools("ip", *tools)
    if missing:
        raise unittest.SkipTest("missing tools: %s" % ", ".join(missing))


class Host:
    """One namespace attached to a :class:`Lan` through ``iface``."""

    def __init__(self, lan, name, ns, iface, mac, ip_cidr):
        self.lan = lan
        self.name = name
        self.ns = ns
        self.iface = iface
        self.mac = mac
        self.ip_cidr = ip_cidr
        self.ip = str(ipaddress.ip_interface(ip_cidr).ip) if ip_cidr else None
        self.extra_ifaces = []  # [(name, mac)] from add_macvlan

    def __repr__(self):
        return "<Host %s ns=%s %s %s %s>" % (
            self.name, self.ns, self.iface, self.mac, self.ip)

    def cmd(self, argv):
        """The argv that runs ``argv`` inside this namespace."""
        return [IP, "netns", "exec", self.ns] + [str(a) for a in argv]

    def run(self, argv, check=True, timeout=20, input=None, env=None):
        """Run argv in the namespace and wait (bounded); returns CompletedProcess."""
        return _sh(self.cmd(argv), check=check, timeout=timeout, input=input,
                   env=env)

    def spawn(self, argv, env=None, stdout=None, stderr=subprocess.STDOUT,
              stdin=subprocess.DEVNULL):
        """Start argv in the namespace; the Lan kills it on teardown."""
        if stdout is None:
            stdout = subprocess.DEVNULL
        if stderr is subprocess.STDOUT and stdout is subprocess.DEVNULL:
            stderr = subprocess.DEVNULL
        proc = subprocess.Popen(self.cmd(argv), env=env, stdout=stdout,
                                stderr=stderr, stdin=stdin)
        self.lan.procs.append(proc)
        return proc

    def add_address(self, ip_cidr, iface=None):
        """Add a (documentation-range) address to an interface."""
        check_doc_address(ip_cidr)
        self.run([IP, "addr", "add", ip_cidr, "dev", iface or self.iface])
        if self.ip is None and (iface or self.iface) == self.iface:
            self.ip_cidr = ip_cidr
            self.ip = str(ipaddress.ip_interface(ip_cidr).ip)

    def flush_addresses(self, iface=None):
        """Remove every IPv4 address from an interface."""
        self.run([IP, "-4", "addr", "flush", "dev", iface or self.iface])

    def addresses(self, iface=None):
        """IPv4 addresses (CIDR strings) currently on an interface."""
        out = self.run([IP, "-4", "-o", "addr", "show", "dev",
                        iface or self.iface]).stdout
        return [line.split()[3] for line in out.splitlines() if " inet " in line]

    def add_macvlan(self, n, prefix="mv"):
        """Create ``n`` macvlan interfaces (distinct MACs) on top of iface.

        Returns ``[(ifname, mac), ...]``; each works as a separate DHCP client
        interface (udhcpc, dhclient and dhcpcd all work on them, also
        concurrently).
        """
        start = len(self.extra_ifaces)
        made = []
        for i in range(start, start + n):
            name, mac = "%s%d" % (prefix, i), random_mac()
            self.run([IP, "link", "add", "link", self.iface, "name", name,
                      "address", mac, "type", "macvlan", "mode", "bridge"])
            self.run([IP, "link", "set", name, "up"])
            made.append((name, mac))
        self.extra_ifaces.extend(made)
        return made

    def pids(self):
        """PIDs of every process currently inside this namespace."""
        out = _sh([IP, "netns", "pids", self.ns], check=False).stdout
        return [int(p) for p in out.split() if p.isdigit()]


class Lan:
    """A bridge in a private namespace plus hosts attached to it."""

    def __init__(self, tag=None):
        self.tag = tag or secrets.token_hex(3)
        self.prefix = PREFIX + self.tag
        self.switch_ns = self.prefix + "-sw"
        self.hosts = {}
        self.procs = []
        self.namespaces = []
        self._ports = 0
        self._torn_down = False
        self.workdir = tempfile.mkdtemp(prefix=self.prefix + "-")
        try:
            self._add_ns(self.switch_ns)
            self._ip(self.switch_ns, "link", "add", "br0", "type", "bridge",
                     "forward_delay", "0", "stp_state", "0",
                     "mcast_snooping", "0")
            self._ip(self.switch_ns, "link", "set", "br0", "up")
        except BaseException:
            self.teardown()
            raise

    def _ip(self, ns, *args):
        return _sh([IP, "-n", ns] + list(args))

    def _add_ns(self, ns):
        _sh([IP, "netns", "add", ns])
        self.namespaces.append(ns)
        self._ip(ns, "link", "set", "lo", "up")
        # No IPv6 chatter (router solicitations, DAD) on our test LANs.
        _sh([IP, "netns", "exec", ns, "sysctl", "-q", "-w",
             "net.ipv6.conf.all.disable_ipv6=1",
             "net.ipv6.conf.default.disable_ipv6=1"], check=False)

    def add_host(self, name, ip_cidr=None, mac=None, iface="eth0"):
        """Create namespace ``<prefix>-<name>`` with ``iface`` on the bridge."""
        if name in self.hosts:
            raise ValueError("duplicate host name %r" % name)
        if ip_cidr:
            check_doc_address(ip_cidr)
        ns = "%s-%s" % (self.prefix, name)
        mac = mac or random_mac()
        self._add_ns(ns)
        port = "p%d" % self._ports
        self._ports += 1
        # Both ends are born in the switch ns; the peer moves straight to ns.
        self._ip(self.switch_ns, "link", "add", port, "type", "veth", "peer",
                 "name", iface, "address", mac, "netns", ns)
        self._ip(self.switch_ns, "link", "set", port, "master", "br0")
        self._ip(self.switch_ns, "link", "set", port, "up")
        self._ip(ns, "link", "set", iface, "up")
        host = Host(self, name, ns, iface, mac, None)
        if ip_cidr:
            host.add_address(ip_cidr)
        self.hosts[name] = host
        return host

    def attach(self, host, ip_cidr=None, iface="eth1", mac=None):
        """Give a host of another Lan a second interface on this one (a router, a relay)."""
        if ip_cidr:
            check_doc_address(ip_cidr)
        port = "p%d" % self._ports
        self._ports += 1
        self._ip(self.switch_ns, "link", "add", port, "type", "veth", "peer",
                 "name", iface, "address", mac or random_mac(), "netns", host.ns)
        self._ip(self.switch_ns, "link", "set", port, "master", "br0")
        self._ip(self.switch_ns, "link", "set", port, "up")
        host.run([IP, "link", "set", iface, "up"])
        if ip_cidr:
            host.add_address(ip_cidr, iface=iface)
        return iface

    def mkdtemp(self, prefix="tmp"):
        """A fresh directory inside the Lan's workdir (removed on teardown)."""
        return tempfile.mkdtemp(prefix=prefix + "-", dir=self.workdir)

    def spawned_alive(self):
        """Processes spawned through this Lan that are still running."""
        return [p for p in self.procs if p.poll() is None]

    def teardown(self, grace=3.0):
        """Kill spawned processes (TERM, then KILL) and delete namespaces."""
        if self._torn_down:
            return
        self._torn_down = True
        # Everything inside our namespaces was started by this rig.
        pids = {p.pid for p in self.spawned_alive()}
        for ns in self.namespaces:
            out = _sh([IP, "netns", "pids", ns], check=False).stdout
            pids.update(int(p) for p in out.split() if p.isdigit())
        pids.discard(os.getpid())
        _kill_pids(pids, grace)
        for p in self.procs:
            try:
                p.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
        for ns in reversed(self.namespaces):
            _sh([IP, "netns", "del", ns], check=False)
        self.namespaces = []
        if os.environ.get("ADH_KEEP_WORKDIR"):
            return
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.teardown()


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # Zombies of our own children count as dead.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _kill_pids(pids, grace):
    """SIGTERM each pid, wait up to ``grace`` seconds, then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            pids = {p for p in pids if _alive(p)}
            if not pids:
                return
            time.sleep(0.05)


def make_lan(testcase, tag=None):
    """Create a :class:`Lan` whose teardown is registered with addCleanup."""
    lan = Lan(tag)
    testcase.addCleanup(lan.teardown)
    return lan
