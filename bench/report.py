"""The bench's output: one line per trial while it runs, the summary table, the JSON file.
`names` (perf.FAMILIES) labels an exchange and its halves: DORA, DO, RA for DHCPv4 (the
default), SARR, SA, RR for DHCPv6; the figures' keys are the same for both."""

import json
import os


def _f(value, fmt="%.1f", none="-"):
    return none if value is None else fmt % value


DORA = {"exchange": "DORA", "do": "DO", "ra": "RA"}


def trial_line(server, phase, t, names=DORA):
    cpu = t.get("cpu_pct", {})
    parts = ["%-8s %-7s %6d/s -> %8.1f %s/s  drops %6.2f%%" % (
        server, phase, t["rate"], t["dora_per_s"], names["exchange"], t["drops_pct"]),
        "%s avg %7s ms" % (names["ra"], _f(t["latency_ms"]["ra"]["avg"], "%.2f")),
        "leases %5s" % _f(t.get("leases"), "%d"),
        "CPU " + " ".join("%s %s%%" % (k, _f(v, "%.0f")) for k, v in sorted(cpu.items())),
        "held" if t["ok"] else "FAILED: " + t["why"]]
    return "  ".join(parts)


def table(results, repeats, names=DORA):
    """results: {server: {"rate": held rate, "median": sweep.medians(...)}}"""
    x = names["exchange"]
    head = ("%-9s %9s %9s %7s %17s %17s %8s %7s %9s %8s" % (
        "server", "rate/s", x + "/s", "drops", names["do"] + " avg/max ms",
        names["ra"] + " avg/max ms", "CPU srv", "redis", "perfdhcp", "us/" + x))
    lines = [head, "-" * len(head)]
    for name, r in results.items():
        m = r.get("median")
        if not m:
            lines.append("%-9s %9s  (no rate held: %s)" % (name, "-", r.get("why", "")))
            continue
        lat = m["latency_ms"]
        cpu = m["cpu_pct"]
        lines.append("%-9s %9d %9.1f %6.2f%% %17s %17s %7s%% %6s%% %8s%% %8s%s" % (
            name, m["rate"], m["dora_per_s"], m["drops_pct"],
            "%s / %s" % (_f(lat["do"]["avg"], "%.2f"), _f(lat["do"]["max"], "%.1f")),
            "%s / %s" % (_f(lat["ra"]["avg"], "%.2f"), _f(lat["ra"]["max"], "%.1f")),
            _f(cpu.get("server"), "%.0f"), _f(cpu.get("redis"), "%.0f"),
            _f(cpu.get("perfdhcp"), "%.0f"), _f(m["cpu_us_per_dora"], "%.0f"),
            "" if m["ok"] else "  (did not hold: %d of %d runs)" % (m["held"], m["runs"])))
    lines.append("medians of %d runs at each server's highest rate with < 1%% drops; "
                 "CPU in %% of one core" % repeats)
    return "\n".join(lines)


def write_json(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(data, f, indent=1, sort_keys=False)
        f.write("\n")
