"""DHCP answer latency while the admin side works, with a 1,000,000-host inventory.

    .venv/bin/python bench/adminload.py [--hosts 1000000] [--leases 100000] [--seconds 20]
                                        [--rate 50] [--code DIR] [--json FILE]

Builds the bench's rig (bench/rig.py: namespaces srv and cli, a veth pair, documentation
addresses only), a private redis-server (tests/redisserver.py; never the machine's 6379) filled
in a few seconds by Lua loops with `--hosts` reserved hosts (`mac:02:10:..` -> 10.x.y.z on
`subnet:10.0.0.0/8`) and `--leases` bound leases, and runs `twistd -n apidhcpd` from `--code`
(default: this checkout; give a checkout of main for the figures before) in srv.

A probe in cli acts as a relay (giaddr 192.0.2.2, option 118 = 10.0.0.1) and sends `--rate`
DISCOVERs a second, each for a random one of the hosts (so nearly every probe is a Redis
lookup, not an answer from the inventory cache), and times each OFFER. Phases, each
`--seconds` long:

- idle: nothing else
- metrics: GET /metrics once a second
- hosts: a page of 100 hosts read again and again, back to back (by cursor where the API has
  one, else ?offset=)
- reserved: while the `reserved` index is rebuilt from every host (RedisStore.
  refresh_reserved, which the server runs when it first reaches Redis: the bench empties the
  index, restarts apidhcpd and probes from its "store reachable"; the inventory cache loads
  its groups and subnets at the same moment); the rebuild's duration is when `reserved`
  reaches its full size again

Prints, per phase, the probes sent and answered, the OFFER latency (p50, p99, max, in ms) and
the admin requests made (count, statuses, slowest). Everything started is stopped by PID, and
the namespaces are deleted, at the end or on an error.
"""

import argparse
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
for path in (HERE, REPO):
    if path not in sys.path:
        sys.path.insert(0, path)

import rig as rigmod  # noqa: E402

from tests.redisserver import RedisServer  # noqa: E402

TWISTD = os.path.join(os.path.dirname(sys.executable), "twistd")
API = "127.0.0.1:8080"

FILL_HOSTS = """
local first, last = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = first, last do
  local n = i + 65536
  redis.call('HSET', string.format('mac:02:10:00:%02x:%02x:%02x', math.floor(i / 65536) % 256,
             math.floor(i / 256) % 256, i % 256),
             'ip', string.format('10.%d.%d.%d', math.floor(n / 65536) % 256,
                                 math.floor(n / 256) % 256, n % 256),
             'hostname', 'host' .. i)
end
return last - first + 1
"""

FILL_LEASES = """
local first, last, expires = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
for i = first, last do
  local n = 13107201 + i  -- 10.200.0.1 on
  local ip = string.format('10.%d.%d.%d', math.floor(n / 65536) % 256,
                           math.floor(n / 256) % 256, n % 256)
  redis.call('HSET', 'lease:' .. ip, 'mac', string.format('02:30:00:%02x:%02x:%02x',
             math.floor(i / 65536) % 256, math.floor(i / 256) % 256, i % 256),
             'state', 'bound', 'expires', expires, 'relay', '')
  redis.call('ZADD', 'leases', expires, ip)
end
return last - first + 1
"""

PROBE = r'''
import json, random, select, socket, struct, sys, time
rate, seconds, hosts, out = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("192.0.2.2", 67))
sock.setblocking(False)
MAGIC = bytes([99, 130, 83, 99])
OPTIONS = bytes([53, 1, 1, 118, 4, 10, 0, 0, 1, 255])

def discover(xid, i):
    chaddr = bytes([2, 0x10, 0, (i >> 16) & 255, (i >> 8) & 255, i & 255])
    head = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 1, xid, 0, 0, bytes(4),
                       bytes(4), bytes(4), socket.inet_aton("192.0.2.2"),
                       chaddr.ljust(16, b"\0"), bytes(64), bytes(128))
    return (head + MAGIC + OPTIONS).ljust(300, b"\0")

sent, latencies, count = {}, [], 0
start = time.monotonic()
due = start
while True:
    now = time.monotonic()
    if now - start >= seconds + 1.0:
        break
    if now >= due and now - start < seconds:
        count += 1
        sock.sendto(discover(count, random.randrange(hosts)), ("192.0.2.1", 67))
        sent[count] = time.monotonic()
        due += 1.0 / rate
    wait = max(0.0, min(due - time.monotonic(), 0.02))
    if select.select([sock], [], [], wait)[0]:
        while True:
            try:
                data = sock.recv(4096)
            except BlockingIOError:
                break
            t = sent.pop(struct.unpack("!I", data[4:8])[0], None)
            if t is not None:
                latencies.append(time.monotonic() - t)
with open(out, "w") as f:
    json.dump({"sent": count, "answered": len(latencies), "latencies": latencies}, f)
'''

ADMIN = r'''
import http.client, json, sys, time
mode, seconds, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
host, _, port = "%s".rpartition(":")
requests = []
cursor, offset, by_cursor = "0", 0, None
start = time.monotonic()

def get(path, timeout=60):
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("GET", path)
        answer = conn.getresponse()
        return answer.status, answer.read()
    except Exception as e:
        return 0, str(e).encode()
    finally:
        conn.close()

while time.monotonic() - start < seconds:
    began = time.monotonic()
    if mode == "metrics":
        status, body = get("/metrics")
    else:
        if by_cursor is None:
            status, body = get("/api/v1/hosts?cursor=0&limit=1")
            by_cursor = status == 200
        if by_cursor:
            status, body = get("/api/v1/hosts?limit=100&cursor=" + cursor)
            if status == 200:
                cursor = json.loads(body)["next_cursor"]
        else:
            status, body = get("/api/v1/hosts?limit=100&offset=%%d" %% offset)
            offset += 100
    took = time.monotonic() - began
    requests.append({"at": began - start, "took": took, "status": status, "bytes": len(body)})
    if mode == "metrics":
        time.sleep(max(0.0, 1.0 - took))
with open(out, "w") as f:
    json.dump({"requests": requests, "by_cursor": by_cursor}, f)
''' % API


def percentile(values, share):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class Bench:
    def __init__(self, args, workdir):
        self.args = args
        self.workdir = workdir
        self.rig = rigmod.Rig(workdir)
        self.redis = None
        self.server = None
        self.log = os.path.join(workdir, "apidhcpd.log")

    def setup(self):
        self.rig.build()
        self.redis = RedisServer().start()
        started = time.monotonic()
        cli = self.redis.cli
        cli("HSET", "group:default", "gateway", "192.0.2.1", "prefix", "24", "lease-time", "1h")
        cli("HSET", "subnet:10.0.0.0/8", "gateway", "10.0.0.1", "lease-time", "1h",
            "range", "10.200.0.1-10.203.255.254")
        step = 100_000
        for first in range(0, self.args.hosts, step):
            cli("EVAL", FILL_HOSTS, 0, first, min(self.args.hosts, first + step) - 1,
                timeout=120)
        expires = int(time.time()) + 86400
        for first in range(0, self.args.leases, step):
            cli("EVAL", FILL_LEASES, 0, first, min(self.args.leases, first + step) - 1,
                expires, timeout=120)
        keys = int(cli("DBSIZE").strip())
        print("inventory: %d keys in %.1fs (%d hosts, %d leases), redis %s" % (
            keys, time.monotonic() - started, self.args.hosts, self.args.leases,
            cli("INFO", "memory").split("used_memory_human:")[1].split()[0]))

    def start_server(self, until="serving DHCP"):
        argv = [TWISTD, "-n", "--pidfile=", "-l", self.log, "apidhcpd", "--interface", "eth0",
                "--redis", self.redis.unix_url, "--quiet", "--api-listen", API,
                "--heartbeat-port", "0"]
        env = {"PYTHONPATH": self.args.code}
        self.server = self.rig.spawn(argv, ns=self.rig.srv, env=env)
        deadline = time.monotonic() + 60
        while until not in self._log().rpartition("starting up")[2]:
            if self.server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("apidhcpd did not start:\n" + self._log()[-3000:])
            time.sleep(0.05)

    def stop_server(self):
        if self.server is not None:
            self.rig.stop(self.server)
            self.server = None

    def _log(self):
        try:
            with open(self.log) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def probe(self, name, admin=None, watch_reserved=False):
        out = os.path.join(self.workdir, "probe-%s.json" % name)
        probe = self.rig.spawn([sys.executable, "-c", PROBE, str(self.args.rate),
                                str(self.args.seconds), str(self.args.hosts), out],
                               ns=self.rig.cli)
        admin_out = os.path.join(self.workdir, "admin-%s.json" % name)
        worker = None
        if admin:
            worker = self.rig.spawn([sys.executable, "-c", ADMIN, admin,
                                     str(self.args.seconds), admin_out], ns=self.rig.srv)
        rebuilt = None
        started = time.monotonic()
        while probe.poll() is None:
            if watch_reserved and rebuilt is None:
                size = int(self.redis.cli("SCARD", "reserved").strip() or 0)
                if size >= self.args.hosts:
                    rebuilt = time.monotonic() - started
            time.sleep(0.2)
        self.rig.stop(probe)  # ended: stop() only forgets it
        result = {"phase": name}
        with open(out) as f:
            found = json.load(f)
        lat = found["latencies"]
        result.update(sent=found["sent"], answered=found["answered"],
                      p50=percentile(lat, 0.5), p99=percentile(lat, 0.99),
                      max=max(lat) if lat else None)
        if worker is not None:
            try:
                worker.wait(120)  # its last request may take a while on an old API
            finally:
                self.rig.stop(worker)
            with open(admin_out) as f:
                requests = json.load(f)
            took = [r["took"] for r in requests["requests"]]
            statuses = {}
            for r in requests["requests"]:
                statuses[r["status"]] = statuses.get(r["status"], 0) + 1
            result.update(admin_requests=len(took), admin_statuses=statuses,
                          admin_p50=percentile(took, 0.5), admin_max=max(took) if took else None,
                          by_cursor=requests.get("by_cursor"))
        if watch_reserved:
            result["reserved_rebuilt_after"] = rebuilt
        return result

    def run(self):
        self.setup()
        self.start_server()
        time.sleep(3)  # the first reserved rebuild (on the first connection) starts here
        self.wait_reserved(300)
        results = []
        for phase in ("idle", "metrics", "hosts"):
            if phase in self.args.phases:
                results.append(self.probe(phase, admin=None if phase == "idle" else phase))
        if "reserved" in self.args.phases:
            # the server rebuilds the index when it first reaches Redis: restart it with the
            # index emptied, and probe from the moment it says so
            self.stop_server()
            self.redis.cli("DEL", "reserved")
            self.start_server(until="store reachable")
            results.append(self.probe("reserved", watch_reserved=True))
        return results

    def wait_reserved(self, seconds):
        deadline = time.monotonic() + seconds
        while int(self.redis.cli("SCARD", "reserved").strip() or 0) < self.args.hosts:
            if time.monotonic() > deadline:
                print("the reserved index is still not complete after %ds" % seconds)
                return
            time.sleep(0.5)

    def close(self):
        self.stop_server()
        if self.args.log:
            with open(self.args.log, "w") as f:
                f.write(self._log())
        self.rig.close()
        if self.redis is not None:
            self.redis.stop()


def ms(value):
    return "-" if value is None else "%.1f" % (value * 1000)


def report(results):
    print("%-9s %6s %8s %8s %8s %9s   %s" % ("phase", "sent", "answered", "p50 ms", "p99 ms",
                                             "max ms", "admin"))
    for r in results:
        admin = ""
        if "admin_requests" in r:
            admin = "%d requests %s, median %s ms, slowest %s ms%s" % (
                r["admin_requests"], r["admin_statuses"], ms(r["admin_p50"]),
                ms(r["admin_max"]), "" if r.get("by_cursor") is None else
                (" (by cursor)" if r["by_cursor"] else " (by offset)"))
        if "reserved_rebuilt_after" in r:
            admin = "reserved index rebuilt after %s" % (
                "%.1fs" % r["reserved_rebuilt_after"] if r["reserved_rebuilt_after"]
                else "more than the phase")
        print("%-9s %6d %8d %8s %8s %9s   %s" % (r["phase"], r["sent"], r["answered"],
                                                 ms(r["p50"]), ms(r["p99"]), ms(r["max"]),
                                                 admin))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=1_000_000)
    parser.add_argument("--leases", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--code", default=REPO, help="the checkout whose apidhcpd runs")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--log", help="keep apidhcpd's log here")
    parser.add_argument("--phases", default="idle,metrics,hosts,reserved",
                        type=lambda text: text.split(","),
                        help="which phases, in this order (default: all)")
    args = parser.parse_args()
    if not 1 <= args.hosts <= 16_000_000 or not 0 <= args.leases <= 250_000:
        parser.error("--hosts 1 to 16,000,000, --leases 0 to 250,000")
    if not 1 <= args.seconds <= 300 or not 1 <= args.rate <= 1000:
        parser.error("--seconds 1 to 300, --rate 1 to 1000")
    rigmod.exit_on_signals()
    rigmod.remove_stale_namespaces()
    with tempfile.TemporaryDirectory(prefix="adminload-") as workdir:
        bench = Bench(args, workdir)
        try:
            results = bench.run()
        finally:
            bench.close()
    print("code: %s" % os.path.abspath(args.code))
    report(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
