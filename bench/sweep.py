"""The rate search and the medians, pure (no processes): unit-tested in test_bench.py.

A trial is a dict from perf.trial() with at least "rate" and "ok" (fewer than 1% of the DORA
exchanges failed and perfdhcp managed to send the rate).

The search, for one server:
  coarse  start at `start` exchanges/s and double while the rate holds (up to `ceiling`);
          if even `start` fails, halve instead until a rate holds (down to `floor`);
  fine    bisect between the highest rate that held and the lowest that failed, at most
          `fine_steps` times, stopping early once the bracket is within `resolution` of the
          lower end. The result is the highest rate that held.
"""

import statistics


def round_rate(rate):
    """Rates are whole numbers, multiples of 10 above 100 (a finer step is noise)."""
    if rate >= 100:
        return round(rate / 10.0) * 10
    return max(1, round(rate))


def search(trial, start, ceiling, fine_steps, resolution=0.05, floor=10):
    """trial(rate) -> dict with "ok". Returns (highest rate that held or 0, [trials])."""
    history = []

    def run(rate):
        t = trial(rate)
        history.append(t)
        return t["ok"]

    held, failed = 0, None
    rate = round_rate(start)
    if run(rate):
        held = rate
        while held < ceiling:
            rate = min(round_rate(held * 2), ceiling)
            if run(rate):
                held = rate
            else:
                failed = rate
                break
    else:
        failed = rate
        while rate > floor:
            rate = max(round_rate(rate / 2.0), floor)
            if run(rate):
                held = rate
                break
            failed = rate
        if not held:
            return 0, history

    for _ in range(fine_steps):
        if failed is None or failed - held <= max(10, resolution * held):
            break
        rate = round_rate((held + failed) / 2.0)
        if rate in (held, failed):
            break
        if run(rate):
            held = rate
        else:
            failed = rate
    return held, history


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def medians(trials):
    """Field-wise medians over repeated trials at one rate (each field on its own)."""
    if not trials:
        return None
    out = {"rate": _median(t["rate"] for t in trials), "runs": len(trials),
           "held": sum(1 for t in trials if t["ok"])}
    for key in ("dora_per_s", "drops_pct", "cpu_us_per_dora", "discovers", "acks", "leases"):
        out[key] = _median(t.get(key) for t in trials)
    out["latency_ms"] = {
        ex: {f: _median(t["latency_ms"][ex][f] for t in trials) for f in ("min", "avg", "max",
                                                                          "std")}
        for ex in ("do", "ra")}
    names = sorted({n for t in trials for n in t.get("cpu_pct", {})})
    out["cpu_pct"] = {n: _median(t["cpu_pct"].get(n) for t in trials) for n in names}
    out["ok"] = out["drops_pct"] is not None and out["drops_pct"] < 1.0 and out["held"] * 2 > len(
        trials)
    return out
