"""The commands that change single entries: `set`, `delete`, `pool add|remove` and
`lease release`, each planned and checked (plan.py, validation.py) before it writes.
Knows nothing of imports or of argument parsing.
"""

import re
import sys

from twisted.internet import defer

from apidhcpd.admin.validation import (
    check_delete,
    check_fields,
    check_pool_removal,
    check_write,
    class_key,
    client_key,
    duid_key,
    group_key,
    ipv4,
    mac_key,
    network_warnings,
    subnet6_key,
    subnet_key,
)
from apidhcpd.cli.plan import Failed, Plan, Usage, checked, reserve_ip, write_plan
from apidhcpd.cli.show import emit, format_hash
from apidhcpd.inventory import allocation
from apidhcpd.store import keys
from apidhcpd.store.keys import HOST_PREFIXES

MAX_POOL_ADD = 65536


# ---------------------------------------------------------------------------------------------
# keys and field assignments

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
KEY_KINDS = {"host": mac_key, "mac": mac_key, "client": client_key, "group": group_key,
             "subnet": subnet_key, "class": class_key, "subnet6": subnet6_key,
             "duid": duid_key}


def field_assignments(words: list[str]):
    """`field=value` words -> ({field: value}, {fields to remove}); `field=` removes."""
    values: dict[str, str] = {}
    removed: set[str] = set()
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
    if key.startswith((keys.GROUP, keys.SUBNET)):
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
    found: list[str] = []
    for word in words:
        try:
            ranges = allocation.parse_ranges(word)
        except ValueError as e:
            raise Failed(str(e)) from e
        if not ranges:
            raise Failed("bad address %r" % (word,))
        for start, end in ranges:
            if len(found) + end - start + 1 > MAX_POOL_ADD:
                raise Failed("too many addresses (at most %d at once)" % MAX_POOL_ADD)
            found.extend(allocation.int_to_ip(value) for value in range(start, end + 1))
    return [ipv4(ip) for ip in found]


@defer.inlineCallbacks
def pool_add(store, args, out):
    addresses = pool_addresses(args.addresses)
    pool = (yield store.get(keys.SEED_POOL)) or {}
    new = [ip for ip in addresses if ip not in pool]
    if new:
        plan = Plan()
        change = plan.change(keys.SEED_POOL)
        change.set(dict.fromkeys(new, ""))
        yield checked(check_write(store, keys.SEED_POOL, pool, change.apply(pool)))
        yield write_plan(store, plan)
    out.write("added %d addresses to the pool (%d already there)\n"
              % (len(new), len(addresses) - len(new)))


@defer.inlineCallbacks
def pool_remove(store, args, out):
    addresses = pool_addresses(args.addresses)
    pool = (yield store.get(keys.SEED_POOL)) or {}
    check_pool_removal(pool, addresses, args.force)
    plan = Plan()
    plan.change(keys.SEED_POOL).set({}, addresses)
    yield write_plan(store, plan)
    out.write("removed %d addresses from the pool\n" % len(addresses))


@defer.inlineCallbacks
def lease_release(store, args, out):
    ip = ipv4(args.ip)
    if not (yield store.end_lease(ip)):
        raise Failed("no lease on %s" % ip)
    out.write("released %s\n" % ip)

