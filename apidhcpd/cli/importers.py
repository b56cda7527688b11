"""`import`: the seed's redis-cli scripts (`redis-cli del|hset|hmset ...`) and the host blocks
of an ISC dhcpd.conf, read into one Plan that is checked against a snapshot of the whole
inventory before anything is written. Knows nothing of argument parsing or of `show`.
"""

import re
import shlex

from twisted.internet import defer

from apidhcpd.admin.validation import (
    Invalid,
    check_fields,
    check_snapshot,
    group_key,
    inventory_key,
    ipv4,
    mac_key,
)
from apidhcpd.cli.plan import Failed, Plan, Usage, checked, load_state, reserve_ip, write_plan
from apidhcpd.store import keys
from apidhcpd.store.keys import HOST_PREFIXES

# ---------------------------------------------------------------------------------------------
# import: the seed's redis-cli scripts and ISC dhcpd host blocks

class Imported:
    """What an import read: the plan, the lines it skipped, and the errors it found."""

    def __init__(self):
        self.plan = Plan()
        self.skipped: list[str] = []
        self.errors: list[str] = []


def parse_seed(text: str, state) -> Imported:
    """`redis-cli del KEY` and `redis-cli hset KEY FIELD VALUE [FIELD VALUE...]` lines."""
    result = Imported()
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            words = shlex.split(stripped, comments=True)
        except ValueError as e:
            result.errors.append("line %d: %s" % (number, e))
            continue
        command = [w.lower() for w in words[:2]]
        if command not in (["redis-cli", "del"], ["redis-cli", "hset"],
                           ["redis-cli", "hmset"]) or len(words) < 3:
            result.skipped.append("line %d: skipped: %s" % (number, stripped))
            continue
        try:
            key = inventory_key(words[2])
        except Invalid as e:
            result.errors += ["line %d: %s" % (number, line) for line in e.lines()]
            continue
        if command[1] == "del":
            result.plan.change(key, replace=True)
            continue
        pairs = words[3:]
        if not pairs or len(pairs) % 2:
            result.errors.append("line %d: hset needs field value pairs" % number)
            continue
        values = dict(zip(pairs[::2], pairs[1::2]))
        try:
            check_fields(key, values)
        except Invalid as e:
            result.errors += ["line %d: %s" % (number, line) for line in e.lines()]
            continue
        change = result.plan.change(key)
        change.set(values)
        if key.startswith(HOST_PREFIXES):
            reserve_ip(change, state.get(key))
    return result


_TOKEN = re.compile(r'\s+|#[^\n]*|"((?:[^"\\]|\\.)*)"|([{};])|([^\s{};"#]+)')


def dhcpd_tokens(text: str):
    """(kind, text, line): kind is 'word', 'string' or one of '{', '}', ';'."""
    pos, line = 0, 1
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise Failed("line %d: unterminated string" % line)
        if match.group(1) is not None:
            yield "string", re.sub(r"\\(.)", r"\1", match.group(1)), line
        elif match.group(2):
            yield match.group(2), match.group(2), line
        elif match.group(3):
            yield "word", match.group(3), line
        line += match.group(0).count("\n")
        pos = match.end()


def dhcpd_statements(tokens, depth=0):
    """Statements as (words, block or None, line) until the closing brace."""
    statements: list[tuple[list[str], list | None, int]] = []
    words: list[str] = []
    start = 0  # the line the statement starts on (lines count from 1)
    for kind, text, line in tokens:
        if kind in ("word", "string"):
            words.append(text)
            start = start or line
        elif kind == ";":
            if words:
                statements.append((words, None, start))
            words, start = [], 0
        elif kind == "{":
            statements.append((words, dhcpd_statements(tokens, depth + 1), start or line))
            words, start = [], 0
        elif depth:  # "}"
            return statements
        else:
            raise Failed("line %d: unexpected '}'" % line)
    if depth:
        raise Failed("missing '}' at the end of the file")
    if words:
        raise Failed("line %d: missing ';'" % start)
    return statements


def parse_dhcpd(text: str, state, group: str | None) -> Imported:
    """`host NAME { hardware ethernet ..; fixed-address ..; option host-name ".."; }` blocks,
    wherever they are (also inside group/subnet blocks); everything else is skipped."""
    result = Imported()
    for words, block, line in dhcpd_statements(dhcpd_tokens(text)):
        _dhcpd_statement(result, words, block, line, state, group)
    return result


def _dhcpd_statement(result, words, block, line, state, group):
    if words[:1] == ["host"] and block is not None:
        _dhcpd_host(result, words, block, line, state, group)
        return
    result.skipped.append("line %d: skipped: %s" % (line, " ".join(words)))
    for inner_words, inner_block, inner_line in block or ():
        _dhcpd_statement(result, inner_words, inner_block, inner_line, state, group)


def _dhcpd_host(result, words, block, line, state, group):
    name = " ".join(words[1:])
    fields, mac = {}, None
    for inner, sub, number in block:
        value = " ".join(inner[2:])
        try:
            if inner[:2] == ["hardware", "ethernet"] and sub is None:
                mac = mac_key(value)
            elif inner[:1] == ["fixed-address"] and sub is None:
                fields["ip"] = ipv4(" ".join(inner[1:]), "fixed-address")
            elif inner[:2] == ["option", "host-name"] and sub is None:
                fields["hostname"] = value
            else:
                result.skipped.append("line %d: skipped in host %s: %s"
                                      % (number, name, " ".join(inner)))
        except Invalid as e:
            result.errors.append("line %d: host %s: %s" % (number, name, e))
    if mac is None:
        result.errors.append("line %d: host %s has no hardware ethernet" % (line, name))
        return
    if mac in result.plan.changes:
        result.errors.append("line %d: host %s: %s appears twice" % (line, name, mac))
    if not state.get(mac, {}).get("description"):
        fields["description"] = name
    if group:
        fields["group"] = group
    change = result.plan.change(mac)
    change.set(fields)
    reserve_ip(change, state.get(mac))


def detect_format(text: str) -> str:
    lines = [line.strip() for line in text.splitlines()]
    if any(line.startswith("redis-cli ") for line in lines):
        return "seed"
    if re.search(r"\bhost\s+\S+\s*\{", text):
        return "dhcpd"
    raise Failed("cannot tell the format of the input (no redis-cli lines, no host blocks); "
                 "use --format seed|dhcpd")


def read_input(path: str, stdin) -> str:
    try:
        if path == "-":
            return stdin.read()
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise Failed("cannot read %s: %s" % (path, e)) from e


@defer.inlineCallbacks
def import_file(store, args, out, err, stdin):
    text = read_input(args.file, stdin)
    kind = args.format or detect_format(text)
    if args.group and kind != "dhcpd":
        raise Usage("--group applies to dhcpd input only")
    group = group_key(args.group)[len(keys.GROUP):] if args.group else None
    state = yield load_state(store)
    found = parse_seed(text, state) if kind == "seed" else parse_dhcpd(text, state, group)
    if found.errors:
        raise Failed(*found.errors)
    plan = found.plan
    yield checked(check_snapshot(state, plan.apply(state), plan.changes))
    for line in found.skipped:
        err.write(line + "\n")
    if not plan.changes:
        raise Failed("nothing to import (%d lines skipped)" % len(found.skipped))
    hosts, groups = plan.count(*HOST_PREFIXES), plan.count(keys.GROUP)
    others = len(plan.changes) - hosts - groups
    summary = "%d hosts, %d groups, %sskipped %d lines" % (
        hosts, groups, "%d other keys, " % others if others else "", len(found.skipped))
    if args.dry_run:
        for change in plan.ordered():
            out.write(change.describe().rstrip() + "\n")
        out.write("dry run, nothing written: would import %s\n" % summary)
        return
    yield write_plan(store, plan)
    out.write("imported %s\n" % summary)


