"""The servers under test, each started fresh for every trial (an empty lease database):
a private redis-server with apidhcpd (`twistd -n apidhcpd`), and Kea's kea-dhcp4 with the
equivalent configuration. Both serve the same pool with the same options and lease time.

The pool: 10.64.0.10-10.64.255.254 (65,525 addresses), enough for 50,000 clients, which no
documentation range could hold. Those addresses exist only as values in DHCP packets, in Redis
and in Kea's lease file: no interface is ever given one and no packet is ever sent to one,
since every reply goes to the relay (perfdhcp) at 192.0.2.2. run.py checks this with tcpdump.
"""

import json
import os
import re
import shutil
import sys
import time

import perf
from rig import RELAY_IP, sh

POOL_FIRST, POOL_LAST = "10.64.0.10", "10.64.255.254"
POOL_SIZE = 65525
POOL_NET, POOL_PREFIX = "10.64.0.0", 16
ROUTER = "10.64.0.1"           # option 3; it also anchors apidhcpd's group subnet
BROADCAST = "10.64.255.255"    # option 28, as apidhcpd derives it from gateway/prefix
DNS = "198.51.100.53"          # option 6
DOMAIN = "bench.test"          # option 15
LEASE = 3600                   # option 51; T1 = 1800, T2 = 3150 (both servers)

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
KEA = shutil.which("kea-dhcp4") or "/usr/sbin/kea-dhcp4"
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

    def version(self):
        return sh([REDIS_SERVER, "--version"]).stdout.strip()


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
        self.redis = redis
        self.repo = repo
        self.extra = list(extra)  # e.g. twistd's --profile options
        self.workers = workers
        self.twistd = os.path.join(os.path.dirname(sys.executable), "twistd")

    def launch(self):
        self.redis.seed()
        self.log = os.path.join(self.workdir, "apidhcpd-%d.log" % self.starts)
        argv = [self.twistd, "-n", "--pidfile=", "-l", self.log] + self.extra + [
            "apidhcpd", "--interface", "eth0",
            "--redis", "unix://%s?db=0" % self.redis.socket,
            "--heartbeat-port", "0", "--quiet", "--api-listen", "none",
            "--workers", str(self.workers)]
        self.proc = self.rig.spawn(argv, ns=self.rig.srv, env={"PYTHONPATH": self.repo},
                                   stdout=os.path.join(self.workdir, "twistd.out"))

    def listening(self):
        try:
            with open(self.log) as f:
                text = f.read()
        except OSError:
            return False
        return text.count("serving DHCP") >= self.workers

    def cpu_pids(self):
        """The server, its worker processes (children of the first) and Redis."""
        pids = {"server": self.proc.pid, "redis": self.redis.pid}
        for n, pid in enumerate(_children(self.proc.pid), 1):
            pids["worker-%d" % n] = pid
        return pids

    def lease_count(self):
        return int(self.redis.cli("ZCARD", "leases") or 0)

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
    name = "kea"

    # logged at WARN by Kea itself on every start: not a problem
    HARMLESS = ("DHCP4_MULTI_THREADING_INFO",)

    def __init__(self, rig, workdir, ifname="eth0"):
        super().__init__(rig, workdir)
        self.ifname = ifname
        self.dir = os.path.join(workdir, "kea")
        self.config = os.path.join(self.dir, "kea-dhcp4.json")
        self.leases = os.path.join(self.dir, "leases4.csv")

    def configuration(self):
        """The same service as apidhcpd's group:pool: one subnet, a pool of the same 65,525
        addresses, 1 h leases with T1/T2 at 50%/87.5%, subnet mask, router, DNS, domain and
        broadcast address (the replies carry the same options); memfile leases
        persisted to a file; no control socket; single-threaded (Kea 2.2's default, stated
        explicitly because later versions default to multi-threading)."""
        return {"Dhcp4": {
            "interfaces-config": {"interfaces": [self.ifname], "dhcp-socket-type": "udp"},
            "lease-database": {"type": "memfile", "persist": True, "name": self.leases},
            "multi-threading": {"enable-multi-threading": False},
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
            "loggers": [{"name": "kea-dhcp4", "severity": "WARN",
                         "output_options": [{"output": os.path.join(self.dir, "kea.log")}]}],
        }}

    def launch(self):
        os.makedirs(self.dir, exist_ok=True)
        for name in os.listdir(self.dir):  # an empty lease database every time
            if name.startswith("leases4"):
                os.unlink(os.path.join(self.dir, name))
        with open(self.config, "w") as f:
            json.dump(self.configuration(), f, indent=2)
        self.log = os.path.join(self.dir, "kea.log")
        self.mark = os.path.getsize(self.log) if os.path.exists(self.log) else 0
        # pid file and logger lock file in our directory, not /run/kea
        env = {"KEA_PIDFILE_DIR": self.dir, "KEA_LOCKFILE_DIR": self.dir}
        self.proc = self.rig.spawn([KEA, "-c", self.config], ns=self.rig.srv, env=env,
                                   stdout=os.path.join(self.dir, "kea.out"))

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
            if name.startswith("leases4"):
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    next(f, None)  # the header
                    seen.update(line.split(",", 1)[0] for line in f if line.strip())
        return len(seen)

    def check_config(self):
        os.makedirs(self.dir, exist_ok=True)
        with open(self.config, "w") as f:
            json.dump(self.configuration(), f, indent=2)
        out = sh([KEA, "-t", self.config], check=False,
                 env=dict(os.environ, KEA_PIDFILE_DIR=self.dir, KEA_LOCKFILE_DIR=self.dir))
        if out.returncode != 0:
            raise StartError("kea-dhcp4 -t refused the configuration:\n%s%s"
                             % (out.stdout[-2000:], out.stderr[-2000:]))

    def version(self):
        return sh([KEA, "-v"], check=False).stdout.strip() or "?"


def _generic(text):
    text = re.sub(r"\b([0-9a-f]{2}:){5}[0-9a-f]{2}\b", "<mac>", text)
    text = re.sub(r"\b0x[0-9a-f]+\b", "<hex>", text)
    text = re.sub(r"\b\d+\.\d+\.\d+\.\d+\b", "<ip>", text)
    text = re.sub(r"(xid|tid)=\S+", r"\1=<id>", text)
    return text


def kea_available():
    return os.path.exists(KEA)


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
