"""`make bench`: how many DHCP DORA exchanges per second apidhcpd holds at under 1% drops,
with the latencies and CPU behind that figure, next to Kea's kea-dhcp4 on the same rig;
`make bench6` (--family 6): the same for DHCPv6 SOLICIT-ADVERTISE-REQUEST-REPLY (SARR)
exchanges, next to kea-dhcp6.

    .venv/bin/python bench/run.py              # the full run, about 10 minutes
    .venv/bin/python bench/run.py --quick      # about 2 minutes
    .venv/bin/python bench/run.py --family 6   # DHCPv6: perfdhcp -6 on the link
    .venv/bin/python bench/run.py --kea-only   # Kea alone (the rig's own check)
    .venv/bin/python bench/run.py --profile    # apidhcpd under py-spy at one fixed rate

Needs root (network namespaces, ports 67 and 547). Builds two network namespaces joined by a
veth pair (192.0.2.1 server, 192.0.2.2 perfdhcp acting as a relay; for DHCPv6 also
2001:db8:1::1 and ::2, perfdhcp being the clients on the link), a private redis-server, and
runs Kea's perfdhcp against `twistd -n apidhcpd` and Kea in turn. Everything it creates is
removed at the end, on errors and on Ctrl-C. The method is docs/performance.md.
"""

import argparse
import datetime
import os
import platform
import re
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import check  # noqa: E402
import perf  # noqa: E402
import profiling  # noqa: E402
import report  # noqa: E402
import rig as rigmod  # noqa: E402
import servers  # noqa: E402
import sweep  # noqa: E402

SETTINGS = {
    #          sweep trial s, repeat trial s, bisection steps, check run s
    "full": {"trial_seconds": 6, "confirm_seconds": 15, "fine_steps": 4, "check_seconds": 3},
    "quick": {"trial_seconds": 2, "confirm_seconds": 5, "fine_steps": 2, "check_seconds": 2},
}
CHECK_RATE = 100  # exchanges/s of the addressing check under tcpdump
WORKDIR_PREFIX = "apidhcpd-bench."


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="shorter trials and fewer bisection steps (about 2 minutes)")
    p.add_argument("--family", type=int, choices=(4, 6), default=4,
                   help="4: DHCPv4 DORA through a relay (default); 6: DHCPv6 SARR on the link")
    p.add_argument("--clients", type=int, default=50000,
                   help="distinct clients, perfdhcp -R (default 50000, at most the pool: "
                   "%d for DHCPv4)" % servers.POOL_SIZE)
    p.add_argument("--repeats", type=int, default=3,
                   help="runs at the rate found; medians are reported (default 3)")
    p.add_argument("--start-rate", type=int, default=100,
                   help="first rate of the sweep, doubled while it holds (default 100)")
    p.add_argument("--max-rate", type=int, default=20000, help="highest rate tried")
    p.add_argument("--trial-seconds", type=int, help="length of each sweep trial")
    p.add_argument("--confirm-seconds", type=int, help="length of each repeated run")
    p.add_argument("--fine-steps", type=int, help="bisection steps after the doubling")
    p.add_argument("--no-kea", action="store_true", help="apidhcpd only")
    p.add_argument("--kea-only", action="store_true", help="Kea only (no Redis load, no ratio)")
    p.add_argument("--workers", type=int, default=1,
                   help="apidhcpd --workers (DHCP processes sharing the port; default 1)")
    p.add_argument("--profile", action="store_true",
                   help="profile apidhcpd during one fixed-rate run instead of the sweep")
    p.add_argument("--rate", type=int, default=200,
                   help="--profile: the fixed rate (default 200/s)")
    p.add_argument("--seconds", type=int, default=20, help="--profile: its length (default 20)")
    p.add_argument("--profiler", choices=("py-spy", "cprofile"), default="py-spy",
                   help="--profile: py-spy (installed if missing) or twistd's cProfile")
    p.add_argument("--results", default=os.path.join(HERE, "results"),
                   help="where the JSON and profile files go (default bench/results)")
    args = p.parse_args(argv)
    mode = SETTINGS["quick" if args.quick else "full"]
    for key, value in mode.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    pool = servers.POOL6_SIZE if args.family == 6 else servers.POOL_SIZE
    if not 1 <= args.clients <= pool:
        p.error("--clients must be 1..%d (the pool)" % pool)
    if args.no_kea and args.kea_only:
        p.error("--no-kea and --kea-only leave nothing to measure")
    if args.profile and args.kea_only:
        p.error("--profile profiles apidhcpd: not with --kea-only")
    if args.clients < 10000:
        print("note: fewer than 10,000 clients exercise the lease path less")
    if args.repeats < 1 or args.start_rate < 1 or args.max_rate < args.start_rate:
        p.error("bad --repeats/--start-rate/--max-rate")
    return args


def preflight(args):
    if os.geteuid() != 0:
        sys.exit("bench: needs root (network namespaces, ports 67 and 547); try sudo make bench")
    need = {"ip": rigmod.IP, "perfdhcp": perf.PERFDHCP, "redis-server": servers.REDIS_SERVER,
            "redis-cli": servers.REDIS_CLI,
            "twistd": os.path.join(os.path.dirname(sys.executable), "twistd")}
    if args.kea_only:
        kea = servers.kea_for(args.family)
        need[os.path.basename(kea.binary)] = kea.binary
    missing = [name for name, path in need.items() if not os.path.exists(path)]
    if missing:
        sys.exit("bench: missing %s (make setup installs them: kea-admin has perfdhcp)"
                 % ", ".join(missing))
    if args.family == 6 and not args.kea_only and not servers.apidhcpd_serves_dhcp6(REPO):
        sys.exit("bench: this apidhcpd has no DHCPv6 server (apidhcpd/dhcp6/server.py); "
                 "--kea-only measures Kea alone")
    stale = rigmod.remove_stale_namespaces()
    tmp = tempfile.gettempdir()
    for name in os.listdir(tmp):  # temp dirs of a killed bench: apidhcpd-bench.<pid>.xxxx
        m = re.match(re.escape(WORKDIR_PREFIX) + r"(\d+)\.", name)
        if m and not rigmod.pid_alive(int(m.group(1))):
            shutil.rmtree(os.path.join(tmp, name), ignore_errors=True)
            stale.append(os.path.join(tmp, name))
    if stale:
        print("removed what a killed bench left: %s" % ", ".join(stale))


def host_facts():
    facts = {"cpus": os.cpu_count(), "kernel": platform.release(),
             "python": platform.python_version(), "perfdhcp": perf.version(),
             "load_before": [round(x, 2) for x in os.getloadavg()]}
    git = shutil.which("git")
    if git:  # read-only: which commit was measured, and whether apidhcpd/ had local changes
        head = rigmod.sh([git, "-C", REPO, "rev-parse", "HEAD"], check=False).stdout.strip()
        dirty = rigmod.sh([git, "--no-optional-locks", "-C", REPO, "status", "--porcelain",
                           "--", "apidhcpd"], check=False).stdout.strip()
        facts["commit"] = head or None
        facts["apidhcpd_modified"] = bool(dirty)
    return facts


class Bench:
    def __init__(self, args, workdir, rig):
        self.args = args
        self.workdir = workdir
        self.rig = rig
        self.count = 0
        self.names = perf.FAMILIES[rig.family]  # DORA or SARR, and its halves

    def trial(self, server, phase, rate, seconds):
        """Start the server afresh, run perfdhcp once, stop the server."""
        self.count += 1
        out = os.path.join(self.workdir, "perfdhcp-%03d.txt" % self.count)
        server.start()
        try:
            t = perf.trial(self.rig, out, rate, seconds, self.args.clients, server.cpu_pids())
        finally:
            server.stop()
        t["leases"] = server.lease_count()
        t["phase"] = phase
        print(report.trial_line(server.name, phase, t, self.names), flush=True)
        return t

    def addressing_check(self, server):
        path = os.path.join(self.workdir, "tcpdump-%s.txt" % server.name)
        server.start()
        capture = check.Capture(self.rig, path)
        try:
            capture.start()
            out = os.path.join(self.workdir, "perfdhcp-check-%s.txt" % server.name)
            t = perf.trial(self.rig, out, CHECK_RATE, self.args.check_seconds,
                           self.args.clients, server.cpu_pids())
        finally:
            text = capture.stop() if capture.proc else ""
            server.stop()
        if self.rig.family == 6:
            result = check.verify6(text, self.rig.addresses(None))
            where = "to perfdhcp's addresses, port 546"
        else:
            result = check.verify(text, self.rig.addresses())
            where = "to %s:67" % rigmod.RELAY_IP
        result["acks"] = t["acks"]
        print("%-8s check   tcpdump in the server namespace: %d packets, %d from the server, "
              "all %s: %s; leased addresses on the wire: %s" % (
                  server.name, result["packets"], result["from_server"], where,
                  "yes" if result["ok"] else "NO (%s)" % "; ".join(result["problems"]),
                  ", ".join(result["leased_addresses_on_wire"]) or "none"), flush=True)
        return result


def run_bench(args, bench, targets, data):
    a = args
    if check.available():
        data["addressing_check"] = {s.name: bench.addressing_check(s) for s in targets}
        if not all(c["ok"] for c in data["addressing_check"].values()):
            raise SystemExit("bench: the addressing check failed; not going on")
    else:
        print("tcpdump not installed: addressing check skipped")
        data["addressing_check"] = None

    results = data["servers"]
    for s in targets:
        print("== %s: sweep (%gs trials, doubling from %d/s, then %d bisection steps)"
              % (s.name, a.trial_seconds, a.start_rate, a.fine_steps), flush=True)
        held, history = sweep.search(
            lambda rate, s=s: bench.trial(s, "sweep", rate, a.trial_seconds),
            a.start_rate, a.max_rate, a.fine_steps)
        results[s.name] = {"held_rate": held, "sweep": history, "repeats": []}

    print("== repeats: %d x %gs at each server's rate, interleaved" % (a.repeats,
                                                                       a.confirm_seconds))
    for _i in range(a.repeats):
        for s in targets:
            r = results[s.name]
            if r["held_rate"]:
                r["repeats"].append(bench.trial(s, "repeat", r["held_rate"], a.confirm_seconds))
    for s in targets:
        r = results[s.name]
        r["median"] = sweep.medians(r["repeats"])
        for _ in range(2):
            if not r["median"] or r["median"]["ok"]:
                break
            # the sweep's shorter trials were lucky: a step down (10%), all repeats again
            lower = sweep.round_rate(r["held_rate"] * 0.9)
            print("%s: %d/s did not hold over the repeats; again at %d/s"
                  % (s.name, r["held_rate"], lower))
            r["held_rate"] = lower
            r.setdefault("repeats_discarded", []).extend(r["repeats"])
            r["repeats"] = [bench.trial(s, "repeat", lower, a.confirm_seconds)
                            for _ in range(a.repeats)]
            r["median"] = sweep.medians(r["repeats"])
        if not r["held_rate"]:
            r["why"] = "not even 10/s held"
    a, k = results.get("apidhcpd", {}).get("median"), results.get("kea", {}).get("median")
    if a and k and k["dora_per_s"]:
        data["ratio"] = round(a["dora_per_s"] / k["dora_per_s"], 3)


def run_profile(args, bench, redis, data):
    """apidhcpd alone at one fixed rate, under py-spy (or twistd's cProfile)."""
    a = args
    stem = os.path.join(a.results, data["stamp"] + "-profile")
    spy_path = profiling.py_spy() if a.profiler == "py-spy" else None
    profiler = "py-spy" if spy_path else "cprofile"
    pstats_path = os.path.join(bench.workdir, "apidhcpd.pstats")
    extra = [] if spy_path else profiling.twistd_cprofile_args(pstats_path)
    server = servers.Apidhcpd(bench.rig, bench.workdir, redis, REPO, extra)
    print("== apidhcpd at %d %s/s for %ds under %s" % (a.rate, bench.names["exchange"],
                                                       a.seconds, profiler))
    server.start()
    try:
        spy = None
        if spy_path:
            spy = profiling.start_py_spy(bench.rig, spy_path, server.proc.pid, a.seconds,
                                         stem + ".folded")
        out = os.path.join(bench.workdir, "perfdhcp-profile.txt")
        t = perf.trial(bench.rig, out, a.rate, a.seconds, a.clients, server.cpu_pids())
        t["phase"] = "profile"
        if spy is not None:
            code, _ = bench.rig.wait_rusage(spy, timeout=a.seconds + 30)
            with open(stem + ".folded.log", errors="replace") as f:
                spy_log = f.read()
            os.unlink(stem + ".folded.log")
            if code != 0 or not os.path.exists(stem + ".folded"):
                raise SystemExit("bench: py-spy failed (exit %s): %s\ntry --profiler cprofile"
                                 % (code, spy_log.strip()[-500:]))
    finally:
        server.stop()  # twistd writes its cProfile stats when it stops
    t["leases"] = server.lease_count()
    print(report.trial_line(server.name, "profile", t, bench.names))
    data["servers"]["apidhcpd"] = {"profile_run": t, "log_problems": server.problems}
    files = {}
    if spy_path:
        stacks = profiling.read_folded(stem + ".folded")
        summary = profiling.summarise(stacks)
        with open(stem + ".svg", "w") as f:
            f.write(profiling.flame_svg(stacks, "apidhcpd at %d %s/s"
                                        % (a.rate, bench.names["exchange"])))
        files = {"folded": stem + ".folded", "svg": stem + ".svg"}
    else:
        summary = profiling.pstats_top(pstats_path)
    with open(stem + ".txt", "w") as f:
        f.write(summary)
    files["summary"] = stem + ".txt"
    data["profile"] = {"profiler": profiler, "files": files}
    print("\n".join(summary.splitlines()[:40]))
    print("profile: %s" % ", ".join(os.path.relpath(f) for f in sorted(files.values())))


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    preflight(args)
    rigmod.exit_on_signals()
    started = time.time()
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    os.makedirs(args.results, exist_ok=True)
    data = {"stamp": stamp, "mode": "profile" if args.profile else (
        "quick" if args.quick else "full"), "family": args.family, "host": host_facts(),
        "settings": {k: v for k, v in vars(args).items() if k != "results"},
        "rig": rig_facts(args), "servers": {}}
    if data["host"]["load_before"][0] > 0.5:
        print("note: the machine is busy (load %.2f): expect noisy figures"
              % data["host"]["load_before"][0])
    workdir = tempfile.mkdtemp(prefix="%s%d." % (WORKDIR_PREFIX, os.getpid()))
    rig = rigmod.Rig(workdir, args.family)
    ok = False
    try:
        rig.build()
        redis = servers.Redis(rig, workdir)
        redis.start()
        data["host"]["redis"] = redis.version()
        bench = Bench(args, workdir, rig)
        if args.profile:
            run_profile(args, bench, redis, data)
        else:
            targets = []
            if not args.kea_only:
                targets.append(servers.Apidhcpd(rig, workdir, redis, REPO, workers=args.workers))
                data["host"]["apidhcpd"] = targets[0].version()
            kea = servers.kea_for(args.family)(rig, workdir)
            if not args.no_kea and kea.available():
                kea.check_config()
                targets.append(kea)
                data["host"]["kea"] = kea.version()
            elif not args.no_kea:
                print("%s is not installed: apidhcpd only, no ratio"
                      % os.path.basename(kea.binary))
            run_bench(args, bench, targets, data)
            for s in targets:
                data["servers"][s.name]["log_problems"] = s.problems
        ok = True
    finally:
        rig.close()
        shutil.rmtree(workdir, ignore_errors=True)
        data["wall_seconds"] = round(time.time() - started, 1)
        data["host"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
        data["completed"] = ok
        path = os.path.join(args.results, "%s%s.json" % (stamp, "-profile" if args.profile
                                                           else ""))
        report.write_json(path, data)
        if not ok:
            print("bench: stopped early; everything it started is gone; partial results: %s"
                  % os.path.relpath(path))
    if not args.profile:
        summary(data, args)
    print("results: %s" % os.path.relpath(path))
    print("wall time: %dm%02ds" % divmod(int(data["wall_seconds"]), 60))
    return 0


def rig_facts(args):
    """The rig's addresses, pool, options and perfdhcp's command line, for the JSON file."""
    facts = {"server": rigmod.SERVER_IP, "relay": rigmod.RELAY_IP, "domain": servers.DOMAIN,
             "lease_time": servers.LEASE, "perfdhcp": " ".join(
                 perf.command("RATE", "SECONDS", args.clients, family=args.family))}
    if args.family == 6:
        facts.update({"server6": rigmod.SERVER_IP6, "client6": rigmod.CLIENT_IP6,
                      "subnet6": servers.NET6, "pool6": servers.POOL6, "dns6": servers.DNS6,
                      "preferred_lifetime": servers.PREFERRED6, "t1": servers.T1_6,
                      "t2": servers.T2_6})
    else:
        facts.update({"pool": "%s-%s" % (servers.POOL_FIRST, servers.POOL_LAST),
                      "router": servers.ROUTER, "dns": servers.DNS})
    return facts


def summary(data, args):
    results = data["servers"]
    names = perf.FAMILIES[args.family]
    print()
    print(report.table({n: r for n, r in results.items() if "median" in r}, args.repeats,
                       names))
    a, k = results.get("apidhcpd", {}).get("median"), results.get("kea", {}).get("median")
    if data.get("ratio") is not None:
        print("ratio apidhcpd / kea: %.3f (%s/s at < 1%% drops)" % (data["ratio"],
                                                                   names["exchange"]))
        cost_a, cost_k = a["cpu_us_per_dora"], k["cpu_us_per_dora"]
        if cost_a and cost_k:
            print("CPU per exchange: apidhcpd+redis %d us, kea %d us (%.1fx)"
                  % (cost_a, cost_k, cost_a / float(cost_k)))
    for name, r in results.items():
        problems = r.get("log_problems") or {}
        if problems:
            print("%s log: %d distinct warning/error lines, e.g.:" % (name, len(problems)))
            for line, count in sorted(problems.items(), key=lambda kv: -kv[1])[:5]:
                print("  %5dx %s" % (count, line[:150]))


if __name__ == "__main__":
    sys.exit(main())
