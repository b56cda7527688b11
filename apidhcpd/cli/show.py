"""The `show ...` commands and their formats: the seed's `dhcp-cli` layout for `show mac`,
`show clients` and `show groups` (byte for byte, pinned by tests/test_cli.py), our own for
`show leases` (both families), `show pools`, `show classes`, `show subnets6` and
`show duids`, and --json. Reads only; knows nothing of writing.
"""

import datetime
import json
import re
import time

from twisted.internet import defer

from apidhcpd.admin.leasejson import lease6_json, lease_json
from apidhcpd.inventory import allocation, allocation6
from apidhcpd.store import keys
from apidhcpd.store.contract import Host
from apidhcpd.store.keys import HOST_PREFIXES
from apidhcpd.store.pools import pool6_definitions, pool6_name, pool_definitions, pool_usage


def group_of(fields: dict[str, str]) -> str:
    return Host("", fields).group_name


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


def format_classes(found) -> str:
    """Ours, in the form of `show groups`: each class: key and its fields, highest priority
    first (the order in which they win), then by name."""
    out = "Client classes:\n\n"
    for key in sorted(found, key=lambda k: (-_priority(found[k]), k)):
        out += "\n".join(format_hash(key, found[key])) + "\n\n"
    return out


def _priority(fields) -> int:
    try:
        return int(fields.get("priority") or 0)
    except ValueError:
        return 0


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
        line += "  (%s)" % keys.group(fields["group"])  # the seed's "(group:%s)"
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
            "group": keys.group(group_of(fields)) if fields.get("group") else "",
            "fields": fields}


def _ip_order(ip: str):
    try:
        return (0, allocation.ip_to_int(ip))
    except OSError:
        return (1, 0)


def host_entries(hosts) -> list[dict]:
    entries = [host_entry(key, fields) for key, fields in hosts.items()]
    return sorted(entries, key=lambda e: (_ip_order(e["ip"]), e["key"]))


def format_leases(entries: list[dict]) -> str:
    """The DHCPv4 leases (address, MAC, state, expiry, option 82), then, when there are any,
    the DHCPv6 ones under a heading of their own (value, kind, state, expiry, DUID, IAID,
    MAC; columns as wide as their longest entry)."""
    lines = ["DHCP leases:", ""]
    for e in entries:
        if e["family"] == 4:
            lines.append(("  %-15s  %-17s  %-8s  %s  %s" % (
                e["ip"], e["mac"], e["state"], last_seen(e["expires"]), e["relay"])).rstrip())
    six = [e for e in entries if e["family"] == 6]
    if six:
        lines += ["", "DHCPv6 leases:", ""]
        width = max(len(e["ip"]) for e in six)
        duid = max(len(e["duid"]) for e in six)
        iaid = max(len(_iaid(e)) for e in six)
        for e in six:
            lines.append(("  %-*s  %-2s  %-8s  %s  %-*s  %*s  %s" % (
                width, e["ip"], e["kind"], e["state"], last_seen(e["expires"]), duid,
                e["duid"], iaid, _iaid(e), e["mac"])).rstrip())
    return "\n".join(lines) + "\n"


def _iaid(entry: dict) -> str:
    return "" if entry["iaid"] is None else str(entry["iaid"])


POOL_COLUMNS = ("size", "leased", "offered", "declined", "reserved", "free")


def format_pools(entries: list[dict]) -> str:
    width = max([len(e["name"]) for e in entries] + [4])
    lines = ["DHCP pools:", "",
             "  %s  %s  %s" % ("name".ljust(width),
                               "  ".join("%8s" % c for c in POOL_COLUMNS), "    used")]
    for e in entries:
        lines.append("  %s  %s  %7.1f%%" % (e["name"].ljust(width),
                                             "  ".join(_count(e[c]) for c in POOL_COLUMNS),
                                             e["utilisation"]))
    return "\n".join(lines) + "\n"


def _count(number: int) -> str:
    """A column of `show pools`: 8 characters, in short form from 10^8 on (a DHCPv6 pool of
    a /64 range holds 1.84e+19 addresses)."""
    return "%8d" % number if number < 10 ** 8 else "%8s" % ("%.2e" % number)


def pool_entry(usage: dict, reserved: int) -> dict:
    """A row of `show pools` from pool_usage()'s figures for one pool (the status route's and
    /metrics'): leased = bound, used = (bound + offered) / size; `reserved` counts the
    addresses hosts reserve that the store counted as neither leased nor owned, and the rest
    is free."""
    counts = {"size": usage["size"], "leased": usage["bound"], "offered": usage["offered"],
              "declined": usage["declined"], "reserved": reserved}
    counts["free"] = max(0, counts["size"] - sum(counts[c] for c in POOL_COLUMNS[1:5]))
    return dict(name=usage["name"], utilisation=float("%.6g" % (100.0 * usage["utilisation"])),
                **counts)


_COUNTED = ("bound", "offered", "declined")  # the lease states pool_usage counts


@defer.inlineCallbacks
def reserved6_in_pools(store, pools6, now: int):
    """{DHCPv6 pool name: how many of its values hosts reserve (`ip6`, `prefix6`) that its
    tally does not count: no unexpired lease from that pool (a reservation's lease is from
    none)}."""
    reserved: set[str] = set()
    for prefix in keys.HOST_PREFIXES6:
        for fields in (yield store.hashes(prefix)).values():
            reserved.update(allocation6.reservations6(fields))
    found = {}
    for source in pools6:
        found[pool6_name(source)] = 0
        for value in sorted(v for v in reserved if allocation6.in_source(v, source)):
            lease = yield store.lease6_at(value)
            if lease is None or lease.expires <= now or lease.state not in _COUNTED \
                    or lease.pool != source.name:
                found[pool6_name(source)] += 1
    return found


@defer.inlineCallbacks
def reserved_in_pools(store, pools, usage, now: int):
    """{pool name: how many of its addresses a host reserves (`ip`, not `dynamic`) without
    being counted by pool_usage: no unexpired lease, and in the seed's `pool` hash no owner}."""
    reserved: set[str] = set()
    for prefix in HOST_PREFIXES:
        reserved.update(f["ip"] for f in (yield store.hashes(prefix)).values()
                        if f.get("ip") and not f.get("dynamic"))
    seed: dict[str, str] = {}
    if any(u["name"] == keys.SEED_POOL for u in usage):
        seed = (yield store.get(keys.SEED_POOL)) or {}
    ranges = dict(pools)
    found = {}
    for u in usage:
        name = u["name"]
        if name not in ranges and name != keys.SEED_POOL:
            continue  # a DHCPv6 pool: reserved6_in_pools
        if name == keys.SEED_POOL:
            inside = [ip for ip in reserved if ip in seed and not seed[ip]]
        else:
            inside = [ip for ip in reserved if allocation.in_ranges(ip, ranges[name])]
        found[name] = 0
        for ip in sorted(inside):
            lease = yield store.lease_at(ip)
            if lease is None or lease.expires <= now or lease.state not in _COUNTED:
                found[name] += 1
    return found


# ---------------------------------------------------------------------------------------------
# commands: each takes (store, args, out) and returns a Deferred

def emit(out, args, data, text) -> None:
    out.write(json.dumps(data, indent=2, sort_keys=False) + "\n" if args.json else text)


@defer.inlineCallbacks
def show_groups(store, args, out):
    groups = yield store.hashes(keys.GROUP)
    emit(out, args, groups, format_groups(groups))


@defer.inlineCallbacks
def show_classes(store, args, out):
    found = yield store.hashes(keys.CLASS)
    emit(out, args, found, format_classes(found))


def format_subnets6(found) -> str:
    """Ours, in the form of `show groups`: each subnet6: key and its fields."""
    return "DHCPv6 subnets:\n\n" + "".join("\n".join(format_hash(key, found[key])) + "\n\n"
                                             for key in sorted(found))


def format_duids(found) -> str:
    """Ours, in the form of `show groups`: each duid: host and its fields."""
    return "DHCPv6 hosts by DUID:\n\n" + "".join(
        "\n".join(format_hash(key, found[key])) + "\n\n" for key in sorted(found))


@defer.inlineCallbacks
def show_subnets6(store, args, out):
    found = yield store.hashes(keys.SUBNET6)
    emit(out, args, found, format_subnets6(found))


@defer.inlineCallbacks
def show_duids(store, args, out):
    found = yield store.hashes(keys.DUID)
    emit(out, args, found, format_duids(found))


@defer.inlineCallbacks
def show_mac(store, args, out):
    hosts = yield store.hashes(keys.MAC)
    emit(out, args, host_entries(hosts), format_macs(hosts))


@defer.inlineCallbacks
def show_clients(store, args, out):
    clients = yield store.hashes(keys.CLIENT)
    emit(out, args, host_entries(clients), format_clients(clients))


@defer.inlineCallbacks
def all_leases(read):
    """Every lease `read` (IAdmin.leases, IAdmin6.leases6_page) gives, a page at a time."""
    found: list = []
    page = 1000
    while True:
        batch = yield read(len(found), page)
        found += batch
        if len(batch) < page:
            return found


@defer.inlineCallbacks
def show_leases(store, args, out):
    """Both families: the DHCPv4 leases in expiry order, then the DHCPv6 ones."""
    entries = [lease_json(lease) for lease in (yield all_leases(store.leases))]
    entries += [lease6_json(lease) for lease in (yield all_leases(store.leases6_page))]
    emit(out, args, entries, format_leases(entries))


@defer.inlineCallbacks
def show_pools(store, args, out):
    now = int(time.time())
    pools = yield defer.ensureDeferred(pool_definitions(store))
    pools6 = yield defer.ensureDeferred(pool6_definitions(store))
    usage = yield defer.ensureDeferred(pool_usage(store, now, pools, pools6))
    reserved = yield reserved_in_pools(store, pools, usage, now)
    reserved.update((yield reserved6_in_pools(store, pools6, now)))
    entries = [pool_entry(u, reserved[u["name"]]) for u in usage]
    emit(out, args, entries, format_pools(entries))


SHOW = {"groups": show_groups, "classes": show_classes, "mac": show_mac,
        "clients": show_clients, "leases": show_leases, "pools": show_pools,
        "subnets6": show_subnets6, "duids": show_duids}
