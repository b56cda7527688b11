"""`run.py --profile`: where apidhcpd spends its CPU during one fixed-rate run.

py-spy (installed into the venv from PyPI when missing) attaches to the running twistd by PID
and samples its Python stacks 100 times a second (pausing it for each sample: py-spy's
accurate mode; its --nonblocking mode counted the reactor's idle epoll wait as busy here),
leaving out samples where the process is idle; the samples are written
as folded stacks (one line per distinct stack: `frame;frame;... count`), summarised here as
text (top functions by own and by inclusive samples, own samples by file) and drawn as a
flame graph SVG. Without py-spy, twistd's own cProfile hook (`--profile FILE --profiler
cprofile --savestats`) is used instead and the pstats top-30 is written.
"""

import html
import io
import os
import pstats
import shutil
import sys

from rig import sh

VENV_BIN = os.path.dirname(sys.executable)


def py_spy(install=True):
    """Path of py-spy, installing it into the venv if missing; None if that fails."""
    path = os.path.join(VENV_BIN, "py-spy")
    if os.path.exists(path):
        return path
    found = shutil.which("py-spy")
    if found:
        return found
    if install:
        print("installing py-spy into %s (pip, PyPI)" % os.path.dirname(VENV_BIN))
        out = sh([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                  "py-spy"], check=False, timeout=300)
        if out.returncode == 0 and os.path.exists(path):
            return path
        print("py-spy could not be installed (%s); falling back to cProfile"
              % (out.stderr.strip().splitlines() or ["?"])[-1])
    return None


def record_command(py_spy_path, pid, seconds, out):
    return [py_spy_path, "record", "--pid", str(pid), "--duration", str(seconds),
            "--rate", "100", "--function", "--format", "raw", "--output", out]


def read_folded(path):
    stacks = []
    with open(path, errors="replace") as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if stack and count.isdigit():
                stacks.append((stack.split(";"), int(count)))
    return stacks


def _file_of(frame):
    # py-spy frames look like "function (path/file.py:123)"
    inside = frame.rpartition(" (")[2].rstrip(")")
    return inside.rpartition(":")[0] or frame


def _package_of(path):
    for prefix, name in (("apidhcpd/", "apidhcpd"), ("twisted/", "twisted"),
                         ("txredisapi", "txredisapi"), ("construct/", "construct"),
                         ("attr/", "attrs"), ("hiredis", "hiredis")):
        if path.startswith(prefix) or "/" + prefix in path:
            return name
    return "python (stdlib) and other"


def _waiting(frame):
    # the reactor's epoll_wait: py-spy cannot always tell this idle wait from work
    return frame.startswith("EPollReactor.doPoll ")


def summarise(stacks, top=30):
    waiting = sum(c for frames, c in stacks if _waiting(frames[-1]))
    stacks = [(frames, c) for frames, c in stacks if not _waiting(frames[-1])]
    total = sum(c for _, c in stacks) or 1
    own, incl, files, packages = {}, {}, {}, {}
    for frames, count in stacks:
        leaf = frames[-1]
        own[leaf] = own.get(leaf, 0) + count
        files[_file_of(leaf)] = files.get(_file_of(leaf), 0) + count
        package = _package_of(_file_of(leaf))
        packages[package] = packages.get(package, 0) + count
        for frame in set(frames):
            incl[frame] = incl.get(frame, 0) + count

    def table(title, counts, n):
        lines = [title, "%8s %6s  %s" % ("samples", "%", "frame")]
        for name, c in sorted(counts.items(), key=lambda kv: -kv[1])[:n]:
            lines.append("%8d %5.1f%%  %s" % (c, 100.0 * c / total, name))
        return lines

    lines = ["%d busy samples (100/s; idle time is not sampled). Left out: %d samples inside "
             "the reactor's epoll wait (EPollReactor.doPoll as the innermost frame), which is "
             "mostly idle time py-spy failed to recognise as idle." % (total, waiting), ""]
    lines += table("== own samples by package", packages, 10) + [""]
    lines += table("== top %d functions by own samples (where the CPU is spent)" % top, own, top)
    ours = {f: c for f, c in incl.items()
            if _package_of(_file_of(f)) in ("apidhcpd", "txredisapi")}
    lines += [""] + table("== top %d apidhcpd and txredisapi functions by inclusive samples "
                          "(own + callees)" % top, ours, top)
    lines += [""] + table("== own samples by file", files, 20)
    return "\n".join(lines) + "\n"


def flame_svg(stacks, title="apidhcpd"):
    """A flame graph of folded stacks: one box per frame, width = share of samples."""
    root = {"n": 0, "kids": {}}
    for frames, count in stacks:
        node = root
        node["n"] += count
        for frame in frames:
            node = node["kids"].setdefault(frame, {"n": 0, "kids": {}})
            node["n"] += count
    width, row = 1200.0, 16
    boxes, depth_max = [], [0]

    def walk(node, name, x, depth):
        w = width * node["n"] / max(root["n"], 1)
        if w < 0.3:
            return
        if name is not None:
            boxes.append((name, x, depth, w, node["n"]))
            depth_max[0] = max(depth_max[0], depth)
        child_x = x
        for kid_name, kid in sorted(node["kids"].items()):
            walk(kid, kid_name, child_x, depth + 1)
            child_x += width * kid["n"] / max(root["n"], 1)

    walk(root, None, 0.0, -1)
    height = (depth_max[0] + 3) * row
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="monospace" font-size="11">' % (width, height),
           '<text x="4" y="12">%s: %d samples (hover a box for its name and share)</text>'
           % (html.escape(title), root["n"])]
    for name, x, depth, w, n in boxes:
        y = height - (depth + 1) * row
        hue = 20 + sum(map(ord, _file_of(name))) % 40
        label = name if len(name) * 6.5 < w else name[:max(int(w / 6.5) - 2, 0)] + ".."
        out.append('<g><title>%s: %d samples (%.1f%%)</title><rect x="%.1f" y="%d" '
                   'width="%.1f" height="%d" fill="hsl(%d,80%%,60%%)" stroke="white"/>'
                   % (html.escape(name), n, 100.0 * n / max(root["n"], 1), x, y, w, row - 1,
                      hue))
        if w > 20:
            out.append('<text x="%.1f" y="%d">%s</text>' % (x + 2, y + row - 4,
                                                             html.escape(label)))
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def twistd_cprofile_args(path):
    """twistd's own profiler: stats saved to path when the reactor stops."""
    return ["--profile", path, "--profiler", "cprofile", "--savestats"]


def pstats_top(path, top=30):
    buf = io.StringIO()
    stats = pstats.Stats(path, stream=buf)
    stats.strip_dirs()
    buf.write("== top %d by own time (tottime)\n" % top)
    stats.sort_stats("tottime").print_stats(top)
    buf.write("\n== top %d by cumulative time\n" % top)
    stats.sort_stats("cumulative").print_stats(top)
    return buf.getvalue()


def start_py_spy(rig, path, pid, seconds, out):
    """py-spy in the root namespace; it reads the target's memory, no network involved."""
    return rig.spawn(record_command(path, pid, seconds, out), stdout=out + ".log")
