"""The servers under test, each started fresh for every trial (an empty lease database):
a private redis-server with apidhcpd (`twistd -n apidhcpd`), and Kea's kea-dhcp4 (kea-dhcp6
for the DHCPv6 bench) with the equivalent configuration. Both serve the same pool with the
same options and lifetimes.

The pool: 10.64.0.10-10.64.255.254 (65,525 addresses), enough for 50,000 clients, which no
documentation range could hold. Those addresses exist only as values in DHCP packets, in Redis
and in Kea's lease file: no interface is ever given one and no packet is ever sent to one,
since every reply goes to the relay (perfdhcp) at 192.0.2.2. run.py checks this with tcpdump.

DHCPv6: the link's network 2001:db8:1::/64 and a /96 of it as the pool (2^32 addresses, none
of them on an interface): replies go to perfdhcp's own address on the link, 2001:db8:1::2.
"""

import json
import os
import re
import shutil
import sys
import time

import perf
from rig import IFACE, RELAY_IP, sh

POOL_FIRST, POOL_LAST = "10.64.0.10", "10.64.255.254"
POOL_SIZE = 65525
POOL_NET, POOL_PREFIX = "10.64.0.0", 16
ROUTER = "10.64.0.1"           # option 3; it also anchors apidhcpd's group subnet
BROADCAST = "10.64.255.255"    # option 28, as apidhcpd derives it from gateway/prefix
DNS = "198.51.100.53"          # option 6
DOMAIN = "bench.test"          # option 15
LEASE = 3600                   # option 51; T1 = 1800, T2 = 3150 (both servers)

# DHCPv6 (--family 6): the veth link's network is the clients' subnet6 in both servers
NET6 = "2001:db8:1::/64"
POOL6 = "2001:db8:1:0:1::/96"
POOL6_FIRST, POOL6_LAST = "2001:db8:1:0:1::", "2001:db8:1:0:1:0:ffff:ffff"
POOL6_SIZE = 2 ** 32
DNS6 = "2001:db8:53::53"       # option 23; option 24 is DOMAIN (perfdhcp -6 asks for both)
PREFERRED6, T1_6, T2_6 = 1800, 900, 1440  # valid lifetime LEASE; T1, T2 at 0.5, 0.8 of preferred

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
KEA = shutil.which("kea-dhcp4") or "/usr/sbin/kea-dhcp4"
KEA6 = shutil.which("kea-dhcp6") or "/usr/sbin/kea-dhcp6"
READY_TIMEOUT = 30


class StartError(Exception):
    pass


class Redis:
    """A private redis-server: unix socket only (no TCP), AOF on, fsync every second."""

    def __init__(self, rig, workdir):
        self.rig = rig
        self.dir = os.path.join(workdir, "redis")
        self.socket = os.path.join(self.dir, "redis.sock")
        self.proc = None

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        self.proc = self.rig.spawn(
            [REDIS_SERVER, "--port", "0", "--unixsocket", self.socket, "--unixsocketperm", "700",
             "--dir", self.dir, "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
             "--logfile", os.path.join(self.dir, "redis.log")], ns=self.rig.srv)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if os.path.exists(self.socket) and self.cli("PING", check=False) == "PONG":
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise StartError("redis-server did not start (see %s/redis.log)" % self.dir)

    @property
    def pid(self):
        return self.proc.pid

    def cli(self, *args, check=True):
        out = sh([REDIS_CLI, "-s", self.socket] + list(args), check=check)
        return out.stdout.strip()

    def seed(self):
        """An empty database with the bench's inventory: every client is unknown, so each
        gets group:pool's options and an address from its range."""
        self.cli("FLUSHALL")
        common = ["gateway", ROUTER, "prefix", str(POOL_PREFIX), "dns", DNS, "domain", DOMAIN,
                  "lease-time", str(LEASE)]
        self.cli("HSET", "group:default", *common)
        self.cli("HSET", "group:pool", *(common + ["range", "%s-%s" % (POOL_FIRST, POOL_LAST)]))

    def seed6(self):
        """An empty database with the DHCPv6 bench's inventory (docs/redis.md, DHCPv6): the
        link's subnet6: with the pool, the options and the lifetimes Kea6 serves, listed in
        subnets6 as the API would list it. Every client is unknown: an address from the
        range, the subnet6's fields."""
        self.cli("FLUSHALL")
        self.cli("HSET", "subnet6:" + NET6, *subnet6_fields())
        self.cli("ZADD", "subnets6", NET6.split("/")[1], NET6)

    def version(self):
        return sh([REDIS_SERVER, "--version"]).stdout.strip()


def subnet6_fields():
    """The subnet6: hash of the DHCPv6 bench, as redis-cli HSET arguments."""
    return ["range", "%s-%s" % (POOL6_FIRST, POOL6_LAST), "dns6", DNS6, "domain", DOMAIN,
            "valid-lifetime", str(LEASE), "preferred-lifetime", str(PREFERRED6),
            "t1", str(T1_6), "t2", str(T2_6)]


class Server:
    """What run.py needs of a server under test."""

    name = "?"

    def __init__(self, rig, workdir):
        self.rig = rig
        self.workdir = workdir
        self.proc = None
        self.starts = 0
        self.log = None
        self.problems = {}  # problem line (timestamps stripped) -> count, over all trials

    def launch(self):
        raise NotImplementedError

    def cpu_pids(self):
        return {"server": self.proc.pid}

    def start(self):
        """Start with an empty lease database and wait until it answers a DISCOVER."""
        self.starts += 1
        self.launch()
        deadline = time.monotonic() + READY_TIMEOUT
        probe_out = os.path.join(self.workdir, "probe.txt")
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StartError("%s exited with %s during start-up; log:\n%s"
                                 % (self.name, self.proc.returncode, self.tail()))
            if self.listening() and perf.probe(self.rig, probe_out):
                return
            time.sleep(0.2)
        raise StartError("%s did not answer within %ds; log:\n%s"
                         % (self.name, READY_TIMEOUT, self.tail()))

    def listening(self):
        return True

    def stop(self):
        if self.proc is not None:
            self.rig.stop(self.proc)
            self.proc = None
        self.collect_problems()

    def collect_problems(self):
        pass

    def lease_count(self):
        """Distinct addresses leased in the store (read after a trial)."""
        return None

    def note(self, line, detail=""):
        """Count one warning/error, with addresses, MACs and ids made generic so that the
        same problem is counted once."""
        line = _generic(line.strip())
        if detail:
            line += " | " + _generic(detail.strip())
        line = line[:240]
        self.problems[line] = self.problems.get(line, 0) + 1

    def tail(self, n=20):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except (OSError, TypeError):
            return "(no log)"


class Apidhcpd(Server):
    name = "apidhcpd"

    def __init__(self, rig, workdir, redis, repo, extra=(), workers=1):
        super().__init__(rig, workdir)
        self.family = rig.family  # 6: DHCPv6 on (--dhcp6 on), the subnet6: inventory
        self.redis = redis
        self.repo = repo
        self.extra = list(extra)  # e.g. twistd's --profile options
        self.workers = workers
        self.twistd = os.path.join(os.path.dirname(sys.executable), "twistd")

    def launch(self):
        if self.family == 6:
            self.redis.seed6()
        else:
            self.redis.seed()
        self.log = os.path.join(self.workdir, "apidhcpd-%d.log" % self.starts)
        argv = [self.twistd, "-n", "--pidfile=", "-l", self.log] + self.extra + [
            "apidhcpd", "--interface", IFACE,
            "--redis", "unix://%s?db=0" % self.redis.socket,
            "--heartbeat-port", "0", "--quiet", "--api-listen", "none",
            "--workers", str(self.workers)]
        if self.family == 6:
            argv += ["--dhcp6", "on"]  # a start-up error, not an idle DHCPv6, if it cannot
        self.proc = self.rig.spawn(argv, ns=self.rig.srv, env={"PYTHONPATH": self.repo},
                                   stdout=os.path.join(self.workdir, "twistd.out"))

    def listening(self):
        try:
            with open(self.log) as f:
                text = f.read()
        except OSError:
            return False
        if self.family == 6:  # only the first process serves DHCPv6
            return "serving DHCPv6 on" in text
        return text.count("serving DHCP on") >= self.workers

    def cpu_pids(self):
        """The server, its worker processes (children of the first) and Redis."""
        pids = {"server": self.proc.pid, "redis": self.redis.pid}
        for n, pid in enumerate(_children(self.proc.pid), 1):
            pids["worker-%d" % n] = pid
        return pids

    def lease_count(self):
        return int(self.redis.cli("ZCARD", "leases6" if self.family == 6 else "leases") or 0)

    def collect_problems(self):
        """twistd log entries at warn, error or critical level (a traceback's continuation
        lines start with a tab; its last line, the exception, is kept with the entry)."""
        try:
            with open(self.log, errors="replace") as f:
                lines = f.read().splitlines()
        except (OSError, TypeError):
            return
        entries = []
        for line in lines:
            if re.match(r"\d{4}-\d\d-\d\dT", line) or not entries:
                entries.append([line])
            elif line.strip():
                entries[-1].append(line)
        stopping = ""
        for entry in entries:
            if "Received SIGTERM" in entry[0]:
                stopping = "(after SIGTERM, at the end of the trial) "
            m = re.match(r"\S+ (\[[^\]]*#(warn|error|critical)\] .*)", entry[0])
            if m:
                self.note(stopping + m.group(1), entry[-1] if len(entry) > 1 else "")

    def version(self):
        return sh([sys.executable, "-c", "import apidhcpd; print(apidhcpd.__version__)"],
                  check=False, env=dict(os.environ, PYTHONPATH=self.repo)).stdout.strip() or "?"


class Kea(Server):
    """kea-dhcp4; Kea6 below is kea-dhcp6. Both: a JSON configuration written afresh in the
    temp dir, memfile leases persisted to a CSV file there (lfc-interval at Kea's default,
    3600 s, so no cleanup runs during a trial), pid and lock files there too, no control
    socket, single-threaded, logging to a file at WARN."""

    name = "kea"
    family = 4
    binary = KEA

    # logged at WARN by Kea itself on every start: not a problem
    HARMLESS = ("DHCP4_MULTI_THREADING_INFO",)

    def __init__(self, rig, workdir, ifname=IFACE):
        super().__init__(rig, workdir)
        self.ifname = ifname
        self.dir = os.path.join(workdir, "kea")
        self.config = os.path.join(self.dir, "kea-dhcp%d.json" % self.family)
        self.lease_prefix = "leases%d" % self.family
        self.leases = os.path.join(self.dir, self.lease_prefix + ".csv")

    def common(self):
        """What both families' configurations share."""
        return {
            "lease-database": {"type": "memfile", "persist": True, "name": self.leases},
            "multi-threading": {"enable-multi-threading": False},
            "loggers": [{"name": "kea-dhcp%d" % self.family, "severity": "WARN",
                         "output_options": [{"output": os.path.join(self.dir, "kea.log")}]}],
        }

    def configuration(self):
        """The same service as apidhcpd's group:pool: one subnet, a pool of the same 65,525
        addresses, 1 h leases with T1/T2 at 50%/87.5%, subnet mask, router, DNS, domain and
        broadcast address (the replies carry the same options); memfile leases
        persisted to a file; no control socket; single-threaded (Kea 2.2's default, stated
        explicitly because later versions default to multi-threading)."""
        return {"Dhcp4": dict(self.common(), **{
            "interfaces-config": {"interfaces": [self.ifname], "dhcp-socket-type": "udp"},
            "valid-lifetime": LEASE, "renew-timer": LEASE // 2, "rebind-timer": LEASE * 7 // 8,
            "subnet4": [{
                "id": 1, "subnet": "%s/%d" % (POOL_NET, POOL_PREFIX),
                # perfdhcp's giaddr is not inside the subnet: select the subnet by relay
                "relay": {"ip-addresses": [RELAY_IP]},
                "pools": [{"pool": "%s - %s" % (POOL_FIRST, POOL_LAST)}],
                "option-data": [{"name": "routers", "data": ROUTER},
                                {"name": "domain-name-servers", "data": DNS},
                                {"name": "domain-name", "data": DOMAIN},
                                # apidhcpd answers option 28 when asked (perfdhcp asks)
                                {"name": "broadcast-address", "data": BROADCAST}],
            }],
        })}

    def write_config(self):
        os.makedirs(self.dir, exist_ok=True)
        with open(self.config, "w") as f:
            json.dump(self.configuration(), f, indent=2)

    def env(self):
        # pid file and logger lock file in our directory, not /run/kea
        return {"KEA_PIDFILE_DIR": self.dir, "KEA_LOCKFILE_DIR": self.dir}

    def launch(self):
        os.makedirs(self.dir, exist_ok=True)
        for name in os.listdir(self.dir):  # an empty lease database every time
            if name.startswith(self.lease_prefix):
                os.unlink(os.path.join(self.dir, name))
        self.write_config()
        self.log = os.path.join(self.dir, "kea.log")
        self.mark = os.path.getsize(self.log) if os.path.exists(self.log) else 0
        self.proc = self.rig.spawn([self.binary, "-c", self.config], ns=self.rig.srv,
                                   env=self.env(), stdout=os.path.join(self.dir, "kea.out"))

    def collect_problems(self):
        try:
            with open(self.log, errors="replace") as f:
                f.seek(self.mark)
                lines = f.readlines()
        except OSError:
            return
        for line in lines:
            m = re.match(r"\S+ \S+ +((WARN|ERROR|FATAL) .*)", line)
            if m and not any(h in line for h in self.HARMLESS):
                self.note(re.sub(r"/\d+\.\d+\]", "]", m.group(1)))  # Kea's pid.thread

    def lease_count(self):
        """Kea appends every lease change to the CSV file: count distinct addresses."""
        seen = set()
        for name in os.listdir(self.dir):
            if name.startswith(self.lease_prefix):
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    next(f, None)  # the header
                    seen.update(line.split(",", 1)[0] for line in f if line.strip())
        return len(seen)

    def check_config(self):
        self.write_config()
        out = sh([self.binary, "-t", self.config], check=False, env=dict(os.environ, **self.env()))
        if out.returncode != 0:
            raise StartError("%s -t refused the configuration:\n%s%s"
                             % (os.path.basename(self.binary), out.stdout[-2000:],
                                out.stderr[-2000:]))

    def version(self):
        return sh([self.binary, "-v"], check=False).stdout.strip() or "?"

    def available(self):
        return os.path.exists(self.binary)


class Kea6(Kea):
    """kea-dhcp6 serving the link's subnet6 the way apidhcpd's subnet6: does: the pool
    2001:db8:1:0:1::/96, valid lifetime 1 h, preferred 30 min, T1/T2 15/24 min, DNS servers
    (23) and the domain search list (24), the two options perfdhcp -6 asks for. The subnet is
    tied to the interface: the clients are on the link, not behind a relay."""

    family = 6
    binary = KEA6
    HARMLESS = ("DHCP6_MULTI_THREADING_INFO",)

    def configuration(self):
        return {"Dhcp6": dict(self.common(), **{
            "interfaces-config": {"interfaces": [self.ifname]},
            # the server DUID file (kea-dhcp6-serverid) goes here, not to /var/lib/kea
            "data-directory": self.dir,
            "preferred-lifetime": PREFERRED6, "valid-lifetime": LEASE,
            "renew-timer": T1_6, "rebind-timer": T2_6,
            "subnet6": [{
                "id": 1, "subnet": NET6, "interface": self.ifname,
                "pools": [{"pool": POOL6}],
                "option-data": [{"name": "dns-servers", "data": DNS6},
                                {"name": "domain-search", "data": DOMAIN}],
            }],
        })}


def kea_for(family):
    return Kea6 if family == 6 else Kea


def apidhcpd_serves_dhcp6(repo):
    """Whether the apidhcpd in repo has its DHCPv6 server (the v6server work)."""
    return os.path.exists(os.path.join(repo, "apidhcpd", "dhcp6", "server.py"))


_IPV6 = re.compile(r"(?<![\w:.])(?=[0-9a-f:]*::|(?:[0-9a-f]{1,4}:){7})[0-9a-f:]{2,39}"
                   r"(?:/\d{1,3})?(?![\w:])")


def _generic(text):
    text = re.sub(r"\b([0-9a-f]{2}:){7,}[0-9a-f]{2}\b", "<duid>", text)
    text = re.sub(r"\b([0-9a-f]{2}:){5}[0-9a-f]{2}\b", "<mac>", text)
    text = re.sub(r"\b[0-9a-f]{20,}\b", "<hex>", text)  # a DUID in hex
    text = _IPV6.sub("<ip6>", text)
    text = re.sub(r"\b0x[0-9a-f]+\b", "<hex>", text)
    text = re.sub(r"\b\d+\.\d+\.\d+\.\d+\b", "<ip>", text)
    text = re.sub(r"(xid|tid)=\S+", r"\1=<id>", text)
    return text


def _children(pid):
    """PIDs whose parent is `pid` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return sorted(found)
