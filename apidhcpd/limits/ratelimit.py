"""Rate limits: token buckets per client and per relay circuit, and a limiter of log lines.

Knows how much one chaddr, one relay circuit-id or remote-id, and one kind of log line may
do per second, in tables bounded in entries; the handler step `RateLimit` applies the first
two to a transaction. Knows nothing of sockets or of the store.
"""

import math
from collections.abc import Hashable

import attr
from twisted.logger import Logger

from apidhcpd.limits.clock import Clock

log = Logger()


@attr.s(frozen=True, slots=True)
class Limit:
    rate: float = attr.ib()  # tokens per second
    burst: int = attr.ib()   # tokens a full bucket holds


@attr.s(frozen=True, slots=True)
class Limits:
    """What `--rate-limit-client` and `--rate-limit-circuit` say; None: no limit."""

    client: Limit | None = attr.ib(default=None)
    circuit: Limit | None = attr.ib(default=None)


# The defaults: far above what a real client or switch port sends (a client needs two
# messages per exchange, and retransmits after 4 s; a port sees a device or a few), low
# enough that a flood through one port cannot take a shared pool (docs/operations.md).
CLIENT = Limit(5.0, 20)
CIRCUIT = Limit(50.0, 200)
DEFAULTS = Limits(client=CLIENT, circuit=CIRCUIT)
CLIENTS_CAP = 32768  # keys per table; docs/operations.md gives the memory they take
CIRCUITS_CAP = 8192


def parse_limit(text: str) -> Limit | None:
    """`RATE[/s][,BURST]` (`5/s,20`: five a second, twenty at once); `0` turns it off."""
    rate_text, _, burst_text = text.strip().partition(",")
    rate_text = rate_text.strip()
    if rate_text.endswith("/s"):
        rate_text = rate_text[:-2]
    try:
        rate = float(rate_text)
        burst = int(burst_text) if burst_text.strip() else max(1, int(rate))
    except ValueError:
        raise ValueError("bad rate limit %r (RATE/s,BURST, e.g. 5/s,20; 0 turns it off)"
                         % text) from None
    if rate == 0:
        return None
    if not (math.isfinite(rate) and 0 < rate <= 1e6 and 1 <= burst <= 1_000_000):
        raise ValueError("bad rate limit %r (a rate above 0, a burst of 1 to 1000000)" % text)
    return Limit(rate, burst)


class Buckets:
    """One token bucket per key, kept as the time its bucket is full again (GCRA): one float
    per key, and a key whose bucket is full is as good as absent. At `cap` keys, full
    buckets are forgotten first, then the oldest keys: a table never holds more than `cap`."""

    def __init__(self, limit: Limit, cap: int):
        self.interval = 1.0 / limit.rate
        # burst - 1 intervals ahead, and a millisecond for the error of float sums
        self.tolerance = self.interval * (limit.burst - 1) + min(self.interval / 2, 1e-3)
        self.cap = cap
        self.full_at: dict[Hashable, float] = {}

    def __len__(self) -> int:
        return len(self.full_at)

    def allow(self, key: Hashable, now: float) -> bool:
        """Take a token for `key`; False when its bucket is empty."""
        full_at = self.full_at.get(key)
        if full_at is None:
            if len(self.full_at) >= self.cap:
                self._evict(now)
            full_at = now
        elif full_at < now:
            full_at = now
        elif full_at - now > self.tolerance:
            return False
        self.full_at[key] = full_at + self.interval
        return True

    def _evict(self, now: float) -> None:
        table = self.full_at
        for key in [k for k, t in table.items() if t <= now]:
            del table[key]
        keep = self.cap - self.cap // 8  # so that the next sweep is cap/8 new keys away
        if len(table) > keep:
            for key in list(table)[:len(table) - keep]:  # dicts keep insertion order
                del table[key]


class LogLimiter:
    """At most `lines` log lines per `period` seconds of each kind; `allow(kind)` is None for
    a line to leave out, else how many were left out since the last one written. Kinds are
    the code's own words, and at most `kinds` of them are tracked."""

    def __init__(self, clock: Clock, lines: int = 10, period: float = 10.0, kinds: int = 64):
        self.clock = clock
        self.lines = lines
        self.period = period
        self.kinds = kinds
        self.state: dict[Hashable, list[float]] = {}  # kind -> [window start, lines, left out]

    def __len__(self) -> int:
        return len(self.state)

    def allow(self, kind: Hashable) -> int | None:
        now = self.clock.seconds()
        state = self.state.get(kind)
        if state is None:
            if len(self.state) >= self.kinds:
                self.state.clear()
            state = self.state[kind] = [now, 0, 0]
        elif now - state[0] >= self.period:
            state[0], state[1] = now, 0
        if state[1] >= self.lines:
            state[2] += 1
            return None
        state[1] += 1
        left_out, state[2] = int(state[2]), 0
        return left_out


def log_left_out(limiter: LogLimiter, kind: str, count: int) -> None:
    """The line that says how many lines of `kind` `limiter` left out."""
    log.info("{suppressed} similar lines ({kind}) left out since the last one (at most {lines} "
             "per {period:.0f}s)", suppressed=count, kind=kind, lines=limiter.lines,
             period=limiter.period)
