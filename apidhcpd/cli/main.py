"""apidhcpd-cli: show and change the Redis inventory (docs/cli.md).

Every read and write goes through the store's IAdmin methods, so the reserved-address index
stays true; validation.py says whether a change is valid, judging values with
inventory.build_profile, the same reader the server uses. A command first builds a plan (the
keys it will change) and has it checked (a single key against the store, an import against a
snapshot of the whole inventory); only then does it write: a rejected command changes nothing.
"""

import argparse
import datetime
import json
import os
import re
import shlex
import sys
import time

from twisted.internet import defer, task

from apidhcpd.admin.validation import (
    Invalid,
    check_delete,
    check_fields,
    check_pool_removal,
    check_snapshot,
    check_write,
    client_key,
    group_key,
    inventory_key,
    ipv4,
    mac_key,
    network_warnings,
    subnet_key,
)
from apidhcpd.inventory import allocation
from apidhcpd.store.contract import Host
from apidhcpd.store.keys import HOST_PREFIXES

DEFAULT_URL = "redis://127.0.0.1:6379/0"
PROG = "apidhcpd-cli"
CONNECT_TIMEOUT = 5.0
INVENTORY_PREFIXES = ("group:", "subnet:") + HOST_PREFIXES
MAX_POOL_ADD = 65536


class Failed(Exception):
    """A command failed: each argument is one line for stderr; exit status 1 (as for an
    Invalid change, one line per detail)."""


class Usage(Exception):
    """The command line is wrong: exit status 2."""


# ---------------------------------------------------------------------------------------------
# keys and field assignments

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
KEY_KINDS = {"host": mac_key, "mac": mac_key, "client": client_key, "group": group_key,
             "subnet": subnet_key}


def field_assignments(words: list[str]):
    """`field=value` words -> ({field: value}, {fields to remove}); `field=` removes."""
    values, removed = {}, set()
    for word in words:
        field, sep, value = word.partition("=")
        if not sep or not _NAME.match(field):
            raise Usage("expected field=value, got %r" % (word,))
        if value == "":
            removed.add(field)
            values.pop(field, None)
        else:
            values[field] = value
            removed.discard(field)
    return values, removed


def group_of(fields: dict[str, str]) -> str:
    return Host("", fields).group_name


# ---------------------------------------------------------------------------------------------
# plans: what a command will write, checked (validation.py), then written

class Change:
    """The change to one key: `replace` it (else merge), set `values`, remove `removed`."""

    def __init__(self, key: str, replace: bool = False):
        self.key = key
        self.replace = replace
        self.values: dict[str, str] = {}
        self.removed = set()

    def set(self, values: dict[str, str], removed=()):
        for field in removed:
            self.values.pop(field, None)
            if not self.replace:
                self.removed.add(field)
        for field, value in values.items():
            self.values[field] = value
            self.removed.discard(field)

    def apply(self, current: dict[str, str] | None) -> dict[str, str]:
        result = {} if self.replace else dict(current or {})
        result.update(self.values)
        for field in self.removed:
            result.pop(field, None)
        return result

    def describe(self) -> str:
        if self.replace and not self.values:
            return "delete %s" % self.key
        parts = ["%s=%s" % (k, shlex.quote(v)) for k, v in self.values.items()]
        parts += ["-%s" % k for k in sorted(self.removed)]
        return "%s %s %s" % ("replace" if self.replace else "merge", self.key, " ".join(parts))


class Plan:
    """Changes in first-seen order, keyed by Redis key."""

    def __init__(self):
        self.changes: dict[str, Change] = {}

    def change(self, key: str, replace: bool = False) -> Change:
        if replace or key not in self.changes:
            self.changes[key] = Change(key, replace)
        return self.changes[key]

    def apply(self, state: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        after = dict(state)
        for key, change in self.changes.items():
            after[key] = change.apply(state.get(key))
            if not after[key]:
                del after[key]
        return after

    def ordered(self) -> list[Change]:
        rank = {"group:": 0, "subnet:": 1, "pool": 3}
        return sorted(self.changes.values(),
                      key=lambda c: rank.get(c.key[:c.key.find(":") + 1] or c.key, 2))

    def count(self, *prefixes) -> int:
        return sum(1 for key in self.changes if key.startswith(prefixes))


def reserve_ip(change: Change, current: dict[str, str] | None) -> None:
    """Setting `ip` on a host makes it a reservation: drop the server's `dynamic` mark."""
    if "ip" in change.values and (current or {}).get("dynamic") and not change.replace:
        change.removed.add("dynamic")


def checked(coroutine):
    """A validation.py check as a Deferred (for inlineCallbacks)."""
    return defer.ensureDeferred(coroutine)


@defer.inlineCallbacks
def load_state(store):
    """The whole inventory: {key: fields} for every group, subnet, host, and `pool`."""
    state = {}
    for prefix in INVENTORY_PREFIXES:
        state.update((yield store.hashes(prefix)))
    pool = yield store.get("pool")
    if pool:
        state["pool"] = pool
    return state


@defer.inlineCallbacks
def write_plan(store, plan: Plan):
    """Write the changes (groups first, then subnets, hosts, pool); the last hash written."""
    result, done = {}, 0
    try:
        for change in plan.ordered():
            if change.replace and not change.values:
                yield store.delete(change.key)
                result = {}
            else:
                if change.values or change.replace:
                    result = yield store.put(change.key, dict(change.values),
                                             "replace" if change.replace else "merge")
                if change.removed:
                    result = yield store.put(change.key, dict.fromkeys(change.removed, ""),
                                             "remove")
            done += 1
    except Exception as e:
        raise Failed("write failed after %d of %d keys: %s" % (done, len(plan.changes), e))
    return result


# ---------------------------------------------------------------------------------------------
# formatters (the seed's `dhcp-cli` layout)

def last_seen(ts) -> str:
    """`ts` (unix seconds) as local `YYYY-MM-DD HH:MM:SS`, or 19 blanks."""
    try:
        return datetime.datetime.fromtimestamp(int(float(ts))).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError, OverflowError, OSError):
        return " " * 19


def format_hash(key: str, fields: dict[str, str]) -> list[str]:
    return [key] + ["  %s = %s" % item for item in fields.items()]


# The seed's `dhcp-cli show groups|clients|mac`, byte for byte (its Printf formats, trailing
# blanks included). The seed printed keys in Redis's KEYS order and fields in Go's random map
# order; here keys are sorted (hosts by address) and fields come in the order Redis keeps them.

def format_groups(groups) -> str:
    out = "DHCP groups:\n\n"
    for key in sorted(groups):
        out += "\n".join(format_hash(key, groups[key])) + "\n\n"
    return out


def format_clients(clients) -> str:
    out = "DHCP Clients:\n\n"
    for key in sorted(clients):
        out += "\n".join(format_hash(key, clients[key])) + "\n"
    return out


def seed_time(ts: str) -> str:
    """`ts` as the seed showed it: Go's strconv.ParseInt (0 when it fails), local time."""
    value = int(ts) if re.fullmatch(r"[+-]?[0-9]+", ts) and abs(int(ts)) < 2 ** 63 else 0
    try:
        return datetime.datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return datetime.datetime.fromtimestamp(0).strftime("%Y-%m-%d %H:%M:%S")


def mac_line(key: str, fields: dict[str, str]) -> str:
    line = "  %s  %-16s" % (key, fields.get("ip", ""))
    line += "* " if fields.get("dynamic") == "1" else "  "
    ts = fields.get("ts", "")
    line += "  " + seed_time(ts) if ts else " " * 21
    if fields.get("description"):
        line += "  " + fields["description"]
    if fields.get("group"):
        line += "  (group:%s)" % fields["group"]
    return line


def format_macs(hosts) -> str:
    order = sorted(hosts, key=lambda key: (_ip_order(hosts[key].get("ip", "")), key))
    return "DHCP by Ethernet address:\n\n" + "".join(mac_line(key, hosts[key]) + "\n"
                                                     for key in order)


def host_entry(key: str, fields: dict[str, str]) -> dict:
    ts = fields.get("ts")
    return {"key": key, "ip": fields.get("ip", ""), "dynamic": bool(fields.get("dynamic")),
            "ts": int(float(ts)) if ts and ts.replace(".", "", 1).isdigit() else None,
            "description": fields.get("description", ""),
            "group": "group:" + group_of(fields) if fields.get("group") else "",
            "fields": fields}


def _ip_order(ip: str):
    try:
        return (0, allocation.ip_to_int(ip))
    except OSError:
        return (1, 0)


def host_entries(hosts) -> list[dict]:
    entries = [host_entry(key, fields) for key, fields in hosts.items()]
    return sorted(entries, key=lambda e: (_ip_order(e["ip"]), e["key"]))


def lease_entry(lease) -> dict:
    return {"ip": lease.ip, "mac": lease.mac, "state": lease.state, "expires": lease.expires,
            "relay": lease.relay}


def format_leases(entries: list[dict]) -> str:
    lines = ["DHCP leases:", ""]
    for e in entries:
        lines.append(("  %-15s  %-17s  %-8s  %s  %s" % (
            e["ip"], e["mac"], e["state"], last_seen(e["expires"]), e["relay"])).rstrip())
    return "\n".join(lines) + "\n"


POOL_COLUMNS = ("size", "leased", "offered", "declined", "reserved", "free")


def format_pools(entries: list[dict]) -> str:
    width = max([len(e["name"]) for e in entries] + [4])
    lines = ["DHCP pools:", "",
             "  %s  %s  %s" % ("name".ljust(width),
                               "  ".join("%8s" % c for c in POOL_COLUMNS), "    used")]
    for e in entries:
        lines.append("  %s  %s  %7.1f%%" % (e["name"].ljust(width),
                                             "  ".join("%8d" % e[c] for c in POOL_COLUMNS),
                                             e["utilisation"]))
    return "\n".join(lines) + "\n"


def pool_entry(name: str, addresses, leases: dict[str, str], reserved, owners=None) -> dict:
    """Count an address source: `leases` maps address -> live lease state, `owners` the seed
    pool's owner field (an owner without a lease still holds the address)."""
    counts = dict.fromkeys(POOL_COLUMNS, 0)
    for ip in addresses:
        counts["size"] += 1
        state = leases.get(ip)
        if state in ("bound", "offered", "declined"):
            counts["leased" if state == "bound" else state] += 1
        elif ip in reserved:
            counts["reserved"] += 1
        elif owners and owners.get(ip):
            counts["leased"] += 1
        else:
            counts["free"] += 1
    used = 100.0 * (counts["size"] - counts["free"]) / counts["size"] if counts["size"] else 0.0
    return dict(name=name, utilisation=round(used, 1), **counts)


def _range_addresses(ranges):
    for start, end in ranges:
        for value in range(start, end + 1):
            yield allocation.int_to_ip(value)


# ---------------------------------------------------------------------------------------------
# commands: each takes (store, args, out) and returns a Deferred

def emit(out, args, data, text) -> None:
    out.write(json.dumps(data, indent=2, sort_keys=False) + "\n" if args.json else text)


@defer.inlineCallbacks
def show_groups(store, args, out):
    groups = yield store.hashes("group:")
    emit(out, args, groups, format_groups(groups))


@defer.inlineCallbacks
def show_mac(store, args, out):
    hosts = yield store.hashes("mac:")
    emit(out, args, host_entries(hosts), format_macs(hosts))


@defer.inlineCallbacks
def show_clients(store, args, out):
    clients = yield store.hashes("client:")
    emit(out, args, host_entries(clients), format_clients(clients))


@defer.inlineCallbacks
def all_leases(store):
    found, page = [], 1000
    while True:
        batch = yield store.leases(len(found), page)
        found += batch
        if len(batch) < page:
            return found


@defer.inlineCallbacks
def show_leases(store, args, out):
    entries = [lease_entry(lease) for lease in (yield all_leases(store))]
    emit(out, args, entries, format_leases(entries))


@defer.inlineCallbacks
def show_pools(store, args, out):
    state = yield load_state(store)
    now = int(time.time())
    leases = {lease.ip: lease.state for lease in (yield all_leases(store))
              if lease.expires > now}
    reserved = {f["ip"] for k, f in state.items()
                if k.startswith(HOST_PREFIXES) and f.get("ip") and not f.get("dynamic")}
    entries = []
    for key in sorted(k for k in state if k.startswith(("group:", "subnet:"))):
        try:
            ranges = allocation.parse_ranges(state[key].get("range", ""))
        except ValueError:
            continue
        if ranges:
            entries.append(pool_entry(key, _range_addresses(ranges), leases, reserved))
    if state.get("pool"):
        entries.append(pool_entry("pool", state["pool"], leases, reserved, state["pool"]))
    emit(out, args, entries, format_pools(entries))


@defer.inlineCallbacks
def set_entry(store, args, out, err=sys.stderr):
    key = KEY_KINDS[args.kind](args.key)
    values, removed = field_assignments(args.fields)
    if args.replace and not values:
        raise Usage("--replace needs at least one field=value")
    check_fields(key, values, removed)
    current = yield store.get(key)
    plan = Plan()
    change = plan.change(key, replace=args.replace)
    change.set(values, removed)
    if key.startswith(HOST_PREFIXES):
        reserve_ip(change, current)
    yield checked(check_write(store, key, current, change.apply(current)))
    result = yield write_plan(store, plan)
    emit(out, args, {key: result}, "\n".join(format_hash(key, result)) + "\n")
    if key.startswith(("group:", "subnet:")):
        for warning in (yield defer.ensureDeferred(network_warnings(store))):
            err.write("apidhcpd-cli: warning: %s\n" % warning)


@defer.inlineCallbacks
def delete_entry(store, args, out):
    key = KEY_KINDS[args.kind](args.key)
    if (yield store.get(key)) is None:
        raise Failed("%s does not exist" % key)
    yield checked(check_delete(store, key))
    plan = Plan()
    plan.change(key, replace=True)
    yield write_plan(store, plan)
    out.write("deleted %s\n" % key)


def pool_addresses(words: list[str]) -> list[str]:
    """`A.B.C.D` and `first-last` words -> addresses."""
    found = []
    for word in words:
        try:
            ranges = allocation.parse_ranges(word)
        except ValueError as e:
            raise Failed(str(e))
        if not ranges:
            raise Failed("bad address %r" % (word,))
        for start, end in ranges:
            if len(found) + end - start + 1 > MAX_POOL_ADD:
                raise Failed("too many addresses (at most %d at once)" % MAX_POOL_ADD)
            found.extend(_range_addresses([(start, end)]))
    return [ipv4(ip) for ip in found]


@defer.inlineCallbacks
def pool_add(store, args, out):
    addresses = pool_addresses(args.addresses)
    pool = (yield store.get("pool")) or {}
    new = [ip for ip in addresses if ip not in pool]
    if new:
        plan = Plan()
        change = plan.change("pool")
        change.set(dict.fromkeys(new, ""))
        yield checked(check_write(store, "pool", pool, change.apply(pool)))
        yield write_plan(store, plan)
    out.write("added %d addresses to the pool (%d already there)\n"
              % (len(new), len(addresses) - len(new)))


@defer.inlineCallbacks
def pool_remove(store, args, out):
    addresses = pool_addresses(args.addresses)
    pool = (yield store.get("pool")) or {}
    check_pool_removal(pool, addresses, args.force)
    plan = Plan()
    plan.change("pool").set({}, addresses)
    yield write_plan(store, plan)
    out.write("removed %d addresses from the pool\n" % len(addresses))


@defer.inlineCallbacks
def lease_release(store, args, out):
    ip = ipv4(args.ip)
    if not (yield store.end_lease(ip)):
        raise Failed("no lease on %s" % ip)
    out.write("released %s\n" % ip)


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
    statements, words, start = [], [], None
    for kind, text, line in tokens:
        if kind in ("word", "string"):
            words.append(text)
            start = start or line
        elif kind == ";":
            if words:
                statements.append((words, None, start))
            words, start = [], None
        elif kind == "{":
            statements.append((words, dhcpd_statements(tokens, depth + 1), start or line))
            words, start = [], None
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
    for inner in block or ():
        _dhcpd_statement(result, *inner, state, group)


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
        raise Failed("cannot read %s: %s" % (path, e))


@defer.inlineCallbacks
def import_file(store, args, out, err, stdin):
    text = read_input(args.file, stdin)
    kind = args.format or detect_format(text)
    if args.group and kind != "dhcpd":
        raise Usage("--group applies to dhcpd input only")
    group = group_key(args.group)[6:] if args.group else None
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
    hosts, groups = plan.count(*HOST_PREFIXES), plan.count("group:")
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


# ---------------------------------------------------------------------------------------------
# the command line

def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog=PROG, description="Show and change the apidhcpd "
                                  "inventory in Redis (docs/cli.md).")
    top.add_argument("--redis", default=os.environ.get("APIDHCPD_REDIS", DEFAULT_URL),
                     help="redis://[:password@]host[:port][/db] or unix:///path?db=N "
                     "(default $APIDHCPD_REDIS or %s)" % DEFAULT_URL)
    top.add_argument("--json", action="store_true", help="JSON output, for scripts")
    json_flag = argparse.ArgumentParser(add_help=False)
    json_flag.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    commands = top.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    show = commands.add_parser("show", parents=[json_flag], help="show the inventory")
    show.add_argument("what", choices=sorted(SHOW))

    set_ = commands.add_parser("set", parents=[json_flag], help="create or change an entry")
    set_.add_argument("kind", choices=["host", "client", "group", "subnet"])
    set_.add_argument("key", help="MAC, client id, group name or network/length")
    set_.add_argument("fields", nargs="+", metavar="field=value",
                      help="`field=` removes the field")
    set_.add_argument("--replace", action="store_true",
                      help="replace the whole hash instead of merging into it")

    delete = commands.add_parser("delete", help="delete an entry")
    delete.add_argument("kind", choices=["host", "client", "group", "subnet"])
    delete.add_argument("key")

    pool = commands.add_parser("pool", help="the seed's dynamic pool hash")
    pool_commands = pool.add_subparsers(dest="action", metavar="ACTION")
    pool_commands.required = True
    add = pool_commands.add_parser("add", help="add addresses (A.B.C.D or first-last)")
    add.add_argument("addresses", nargs="+", metavar="ADDR")
    remove = pool_commands.add_parser("remove", help="remove addresses")
    remove.add_argument("addresses", nargs="+", metavar="ADDR")
    remove.add_argument("--force", action="store_true", help="even if a client holds them")

    lease = commands.add_parser("lease", help="leases")
    lease_commands = lease.add_subparsers(dest="action", metavar="ACTION")
    lease_commands.required = True
    release = lease_commands.add_parser("release", help="end the lease on an address")
    release.add_argument("ip")

    imp = commands.add_parser("import", help="import a redis-cli script or dhcpd.conf hosts")
    imp.add_argument("file", help="file name, or - for stdin")
    imp.add_argument("--format", choices=["seed", "dhcpd"], help="default: detected")
    imp.add_argument("--group", help="group for the hosts of a dhcpd.conf")
    imp.add_argument("--dry-run", action="store_true", help="print what would be written")
    return top


SHOW = {"groups": show_groups, "mac": show_mac, "clients": show_clients,
        "leases": show_leases, "pools": show_pools}


def dispatch(store, args, out, err, stdin):
    if args.command == "show":
        return SHOW[args.what](store, args, out)
    if args.command == "set":
        return set_entry(store, args, out, err)
    if args.command == "delete":
        return delete_entry(store, args, out)
    if args.command == "pool":
        return (pool_add if args.action == "add" else pool_remove)(store, args, out)
    if args.command == "lease":
        return lease_release(store, args, out)
    return import_file(store, args, out, err, stdin)


@defer.inlineCallbacks
def connect(url, reactor):
    from apidhcpd.store.redis import RedisStore  # txredisapi only when a command runs
    store = RedisStore(url, reactor, timeout=10.0, poolsize=1)
    store.connect()
    deadline = reactor.seconds() + CONNECT_TIMEOUT
    while not store.connected:
        if reactor.seconds() > deadline:
            yield store.disconnect()
            raise Failed("cannot connect to Redis at %s" % (
                url.path or "%s:%d" % (url.host, url.port)))
        yield task.deferLater(reactor, 0.02, lambda: None)
    return store


def _fail(err, lines) -> int:
    for line in lines:
        err.write("%s: %s\n" % (PROG, line))
    return 1


@defer.inlineCallbacks
def run(argv, reactor, out=None, err=None, stdin=None):
    """Run one command; the exit status (0, 1 on failure, 2 on a usage error)."""
    from apidhcpd.store.redis import RedisURL
    out, err, stdin = out or sys.stdout, err or sys.stderr, stdin or sys.stdin
    top = parser()
    try:
        args = top.parse_args(argv)
    except SystemExit as e:
        return e.code
    try:
        url = RedisURL.parse(args.redis)
    except ValueError as e:
        _fail(err, [str(e)])
        return 2
    store = None
    try:
        store = yield connect(url, reactor)
        yield dispatch(store, args, out, err, stdin)
    except Usage as e:
        top.print_usage(err)
        _fail(err, e.args)
        return 2
    except Failed as e:
        return _fail(err, e.args)
    except Invalid as e:
        return _fail(err, e.lines())
    except Exception as e:  # Redis errors: one line, not a traceback
        return _fail(err, ["%s: %s" % (type(e).__name__, e)])
    finally:
        if store is not None:
            yield store.disconnect()
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    codes = []

    def _main(reactor):
        return run(argv, reactor).addCallback(codes.append)

    try:
        task.react(_main)
    except SystemExit as e:
        if codes:
            return codes[0]
        return e.code if isinstance(e.code, int) else 1
    return codes[0] if codes else 1


if __name__ == "__main__":
    sys.exit(main())
