"""The bench's private world: two network namespaces joined by a veth pair, the processes it
starts, and the guarantee that all of it is gone again at the end, on an error, on Ctrl-C and
on SIGTERM (try/finally in run.py, plus atexit and signal handlers here).

Only documentation addresses are ever put on an interface (192.0.2.0/24, and 2001:db8:1::/64
for the DHCPv6 bench; the kernel adds each end's fe80:: link-local address there); nothing is
attached to the root namespace. Processes are stopped by their own PID, never by name.
"""

import atexit
import ctypes
import ipaddress
import os
import re
import shutil
import signal
import subprocess
import time

IP = shutil.which("ip") or "/usr/sbin/ip"
PREFIX = "apb"  # namespace names: apb<pid>-srv, apb<pid>-cli
DOC_NETS = tuple(ipaddress.ip_network(n)
                 for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))
DOC_NETS6 = (ipaddress.ip_network("2001:db8::/32"),)

SERVER_IP = "192.0.2.1"  # the DHCP server's end of the veth pair (both servers, in turn)
RELAY_IP = "192.0.2.2"   # perfdhcp's end: it acts as a relay, so this is giaddr
PREFIXLEN = 24
# --family 6: the link's documentation /64. perfdhcp -6 sends from the client's address to
# ff02::1:2 (the servers' multicast group on the link), the server answers it there on port 546
SERVER_IP6 = "2001:db8:1::1"
CLIENT_IP6 = "2001:db8:1::2"
PREFIXLEN6 = 64
IFACE = "eth0"  # the name of the veth end in each namespace


def sh(argv, check=True, timeout=30, **kw):
    """Run a short command, capturing its output."""
    return subprocess.run(argv, check=check, timeout=timeout, text=True,
                          capture_output=True, **kw)


def _die_with_parent():
    """In the child, before exec: SIGKILL if the bench process itself is killed -9."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def cpu_seconds(pid):
    """utime + stime of a process from /proc/PID/stat, in seconds (None once it is gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return None
    # after "pid (comm)": state is field 3, utime 14 and stime 15 (1-based, proc(5))
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def is_documentation(cidr):
    """An address (with or without its length) inside a documentation range of its family."""
    net = ipaddress.ip_interface(cidr).network
    return any(net.subnet_of(n) for n in (DOC_NETS6 if net.version == 6 else DOC_NETS))


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Rig:
    """Owns the namespaces and every process the bench starts."""

    def __init__(self, workdir, family=4):
        self.workdir = workdir
        self.family = family  # 6: IPv6 on, with the link's 2001:db8:1::/64 addresses
        self.tag = "%s%d" % (PREFIX, os.getpid())
        self.srv = self.tag + "-srv"
        self.cli = self.tag + "-cli"
        self.namespaces = []
        self.procs = []  # Popen objects still to be stopped
        self.closed = False
        atexit.register(self.close)

    # -- topology ------------------------------------------------------------------------
    def build(self):
        """srv (192.0.2.1/24) <-veth-> cli (192.0.2.2/24); IPv6 off so the link stays quiet.
        With family 6, IPv6 stays on and the ends also get 2001:db8:1::1/64 and ::2/64, with
        no duplicate address detection (an address is usable at once) and no router
        solicitations or advertisements taken (nothing but the bench's own traffic)."""
        v6 = self.family == 6
        for ns in (self.srv, self.cli):
            sh([IP, "netns", "add", ns])
            self.namespaces.append(ns)
            if v6:
                self.ns_sh(ns, ["sysctl", "-q", "-w"] + [
                    "net.ipv6.conf.%s.%s" % (which, knob)
                    for which in ("all", "default")
                    for knob in ("accept_dad=0", "router_solicitations=0", "accept_ra=0")])
            else:
                self.ns_sh(ns, ["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
                                "net.ipv6.conf.default.disable_ipv6=1"])
            self.ns_sh(ns, [IP, "link", "set", "lo", "up"])
        # the veth pair is created inside srv, its peer moved straight into cli
        sh([IP, "-n", self.srv, "link", "add", IFACE, "type", "veth", "peer", "name",
            self.tag + "c", "netns", self.cli])
        sh([IP, "-n", self.cli, "link", "set", self.tag + "c", "name", IFACE])
        for ns, address, address6 in ((self.srv, SERVER_IP, SERVER_IP6),
                                      (self.cli, RELAY_IP, CLIENT_IP6)):
            if not v6:
                self.ns_sh(ns, ["sysctl", "-q", "-w", "net.ipv6.conf.%s.disable_ipv6=1" % IFACE])
            self.add_address(ns, "%s/%d" % (address, PREFIXLEN))
            if v6:
                self.add_address(ns, "%s/%d" % (address6, PREFIXLEN6))
            sh([IP, "-n", ns, "link", "set", IFACE, "up"])
        if v6:
            self.wait_link_local()

    def wait_link_local(self, timeout=10.0):
        """Until both ends have their fe80:: address (the kernel adds it once the link is up):
        servers bind to it and answer from it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(any(a.startswith("fe80:") for a in self.addresses(6)[ns])
                   for ns in (self.srv, self.cli)):
                return
            time.sleep(0.05)
        raise RuntimeError("no link-local address on the veth after %gs" % timeout)

    def add_address(self, ns, cidr):
        if not is_documentation(cidr):
            raise ValueError("%s is not a documentation address" % cidr)
        extra = ["nodad"] if ipaddress.ip_interface(cidr).version == 6 else []
        sh([IP, "-n", ns, "addr", "add", cidr, "dev", IFACE] + extra)

    def addresses(self, family=4):
        """Every address of that family (4, 6, or None for both) on every interface of our
        namespaces: {ns: [cidr, ...]}."""
        found = {}
        flag = ["-%d" % family] if family else []
        for ns in self.namespaces:
            out = sh([IP, "-n", ns] + flag + ["-o", "addr", "show"]).stdout
            found[ns] = re.findall(r"inet6? (\S+)", out)
        return found

    def ns_sh(self, ns, argv, **kw):
        return sh([IP, "netns", "exec", ns] + argv, **kw)

    # -- processes -----------------------------------------------------------------------
    def spawn(self, argv, ns=None, env=None, stdout=None, stderr=None):
        """Start a process (inside namespace ns if given). `ip netns exec` execs the command,
        so the PID returned is the command's own PID."""
        if ns is not None:
            argv = [IP, "netns", "exec", ns] + list(argv)
        full_env = dict(os.environ)
        full_env.update(env or {})
        opened = []

        def target(where):
            if isinstance(where, str):
                opened.append(open(where, "ab"))
                return opened[-1]
            return where

        out = target(stdout) if stdout is not None else subprocess.DEVNULL
        err = subprocess.STDOUT if stderr is None else target(stderr)
        try:
            proc = subprocess.Popen(argv, env=full_env, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=err, start_new_session=True,
                                    preexec_fn=_die_with_parent)
        finally:
            for f in opened:
                f.close()
        self.procs.append(proc)
        return proc

    def stop(self, proc, sig=signal.SIGTERM, timeout=10.0):
        """Stop one process we started, by its PID: sig, then SIGKILL after timeout."""
        if proc.poll() is None:
            try:
                os.kill(proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(5)
        if proc in self.procs:
            self.procs.remove(proc)
        return proc.returncode

    def wait_rusage(self, proc, timeout):
        """Wait for a process with os.wait4 and return (exit code, CPU seconds it used),
        killing it if it outlives timeout."""
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                self.procs.remove(proc)
                return proc.returncode, usage.ru_utime + usage.ru_stime
            if time.monotonic() > deadline:
                os.kill(proc.pid, signal.SIGKILL)
                timeout, deadline = 5, time.monotonic() + 5
            time.sleep(0.05)

    # -- teardown ------------------------------------------------------------------------
    def close(self):
        if self.closed:
            return
        self.closed = True
        for proc in reversed(list(self.procs)):
            try:
                self.stop(proc, timeout=5)
            except Exception as e:  # keep tearing down
                print("bench: could not stop pid %d: %s" % (proc.pid, e))
        for ns in reversed(self.namespaces):
            sh([IP, "netns", "del", ns], check=False)
        self.namespaces = []


def remove_stale_namespaces():
    """Namespaces left by an earlier bench that was killed -9 (its PID no longer runs)."""
    out = sh([IP, "netns", "list"], check=False).stdout
    removed = []
    for line in out.splitlines():
        name = line.split()[0] if line.strip() else ""
        m = re.fullmatch(PREFIX + r"(\d+)-(srv|cli)", name)
        if m and not pid_alive(int(m.group(1))):
            sh([IP, "netns", "del", name], check=False)
            removed.append(name)
    return removed


def exit_on_signals():
    """SIGTERM and SIGHUP end the bench through the normal path, so finally blocks run."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)
