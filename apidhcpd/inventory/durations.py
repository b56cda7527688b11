"""Durations as the inventory and the command line write them: Go's (`30m`, `1h30m`, `500ms`)
or plain seconds. Knows nothing of packets or storage."""

import re

DEFAULT_LEASE_TIME = 86400

_DURATION = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h)")
_SECONDS = re.compile(r"[0-9]+")
SPACE = " \t\n\v\f\r"  # trimmed (Lua's %s: common.lua's duration() reads the same text)
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}

def duration_seconds(text: str) -> float:
    """Go durations (`500ms`, `1.5s`, `30m`, `1h30m`) or plain seconds (`3600`, `0.5`) ->
    seconds, fractions kept; ValueError if it is neither."""
    text = str(text).strip()
    try:
        return float(text) if text and text[-1].isdigit() else _go_duration(text)
    except ValueError:
        raise ValueError("bad duration %r (use 500ms, 30s, 30m, 1h or seconds)"
                         % (text,)) from None


def _go_duration(text: str) -> float:
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(text)
    return total


def parse_duration(text: str) -> int:
    """Go durations (`30m`, `1h30m`, `24h`) or plain seconds (`3600`) -> whole seconds from 1
    to 4294967294; ValueError otherwise. ASCII digits only, as common.lua's duration()."""
    text = str(text).strip(SPACE)
    if _SECONDS.fullmatch(text):
        total: float = int(text)
    else:
        try:
            total = _go_duration(text)
        except ValueError:
            raise ValueError("bad duration %r (use 30m, 1h, 24h or seconds)" % (text,)) from None
    if total < 1 or total > 0xFFFFFFFE:
        raise ValueError("duration %r out of range" % (text,))
    return int(total)
