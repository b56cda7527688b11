"""RESP encoding of the packet path's commands: the hand-written encoder redis.py had against
hiredis.pack_command and redisconn.command (what _eval() calls), in ns per command
(median of 5 timeit runs).

    .venv/bin/python bench/resp_encode.py

The commands are the packet path's EVALSHA calls as _eval() builds them: discover.lua (a DISCOVER),
request.lua (a REQUEST) and lease.lua, with their keys and arguments (ints and strings).
"""

import os
import statistics
import sys
import timeit

import hiredis

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from apidhcpd.store.redisconn import command

SHA = "0123456789abcdef0123456789abcdef01234567"
MAC = "02:00:00:00:00:01"
COMMANDS = {
    "discover": ("EVALSHA", SHA, 2, "mac:" + MAC, "client:0102000000000001", 1733090000,
                 "subnet:192.0.2.0/24", MAC, 60, ""),
    "request": ("EVALSHA", SHA, 2, "mac:" + MAC, "client:0102000000000001", 1733090000,
                "subnet:192.0.2.0/24", MAC, "192.0.2.100", "selecting", "0104c0000201", "pc1"),
    "lease": ("EVALSHA", SHA, 0, MAC, 1733090000),
}


def hand_written(words) -> bytes:
    """redis.py's _command before this change, verbatim."""
    out = [b"*%d\r\n" % len(words)]
    for word in words:
        data = word.encode() if isinstance(word, str) else str(word).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def main() -> None:
    number = 200_000
    for name, words in COMMANDS.items():
        assert hand_written(words) == hiredis.pack_command(words) == command(words), name
        for encoder in (hand_written, hiredis.pack_command, command):
            runs = timeit.repeat(lambda: encoder(words), number=number, repeat=5)  # noqa: B023
            ns = statistics.median(runs) / number * 1e9
            print("%-9s %2d words  %-13s %6.0f ns/command  (runs: %s)" % (
                name, len(words), encoder.__name__, ns,
                " ".join("%.0f" % (r / number * 1e9) for r in runs)))


if __name__ == "__main__":
    main()
