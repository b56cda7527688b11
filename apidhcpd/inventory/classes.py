"""Client classes: which `class:<name>` hashes a client matches, in what order they apply, and
which of them gives its dynamic addresses.

Knows the match fields (docs/redis.md): `match-vendor-class` (exact, or a prefix ending in
`*`), `match-user-class` (any of the client's user classes, the same way), `match-arch` (a comma
list of numbers), `match-client-id` (hex), `match-mac` (a MAC prefix), `match-circuit-id` and
`match-remote-id` (the relay's ids, spelled as in `relay:` keys), and `priority`. A class with
no match field matches nobody; every match field given must match. A protocol says what its
client is (`Facts`: dhcp4/classes.py reads them from a request); what the other fields of a
class mean is the profile's. store/lua/common.lua's class_facts/matched_classes/class_source
apply the same rules inside Redis, so that a class's `range` and `lease-time` count in the same
atomic call as the allocation: tests/test_classes.py's LuaAgreesTests pin the two together.
Pure: no I/O.
"""

import ipaddress
import re
import string
from collections.abc import Iterable, Mapping, Sequence

import attr

from apidhcpd.inventory.allocation import SPACE, Range, lenient_ranges

VENDOR, USER, ARCH = "match-vendor-class", "match-user-class", "match-arch"
CLIENT_ID, MAC = "match-client-id", "match-mac"
CIRCUIT, REMOTE = "match-circuit-id", "match-remote-id"
MATCH_FIELDS = (VENDOR, USER, ARCH, CLIENT_ID, MAC, CIRCUIT, REMOTE)
PRIORITY = "priority"
# a class's fields that choose clients rather than say what they are sent
CLASS_ONLY = frozenset(MATCH_FIELDS) | {PRIORITY}

Class = tuple[str, Mapping[str, str]]  # (name, fields), as Lookup.classes holds them
_HEX = frozenset(string.hexdigits)
# integers as both languages read them exactly: Lua's numbers are doubles
_INTEGER = re.compile(r"[+-]?[0-9]{1,9}")
_NUMBER = re.compile(r"[0-9]{1,9}")


@attr.s(frozen=True, slots=True)
class Facts:
    """What a client says about itself, in the forms the match fields are written in. Texts
    are the option's bytes decoded as UTF-8 with surrogateescape, so that comparing them is
    comparing the bytes (what Lua does)."""

    vendor_class: str | None = attr.ib(default=None)
    user_classes: tuple[str, ...] = attr.ib(default=())
    arches: tuple[int, ...] = attr.ib(default=())
    client_id: str | None = attr.ib(default=None)  # lower-case hex
    mac: str = attr.ib(default="")  # lower-case hex, no separators
    circuit_id: str | None = attr.ib(default=None)
    remote_id: str | None = attr.ib(default=None)


NO_FACTS = Facts()


def text(raw: bytes) -> str:
    """An option's bytes as Facts hold them."""
    return raw.decode("utf-8", "surrogateescape")


def _text_matches(pattern: str, value: str | None) -> bool:
    if value is None:
        return False
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


def _hex(value: str) -> str:
    return value.strip(SPACE).lower().replace(":", "").replace("-", "").replace(".", "")


def _arches(value: str) -> set[int]:
    return {int(part.strip(SPACE)) for part in value.split(",")
            if _NUMBER.fullmatch(part.strip(SPACE))}


def matches(fields: Mapping[str, str], client: Facts) -> bool:
    """Does a class with these fields match this client? All its match fields must; a class
    without any matches nobody. A match field that does not parse matches nobody."""
    given = [name for name in MATCH_FIELDS if fields.get(name)]
    if not given:
        return False
    for name in given:
        want = fields[name].strip(SPACE)
        if name == VENDOR:
            ok = _text_matches(want, client.vendor_class)
        elif name == USER:
            ok = any(_text_matches(want, item) for item in client.user_classes)
        elif name == ARCH:
            ok = bool(_arches(want).intersection(client.arches))
        elif name == CLIENT_ID:
            ok = client.client_id is not None and _hex(want) == client.client_id
        elif name == MAC:
            ok = bool(_hex(want)) and client.mac.startswith(_hex(want))
        elif name == CIRCUIT:
            ok = want == client.circuit_id
        else:
            ok = want == client.remote_id
        if not ok:
            return False
    return True


def priority(fields: Mapping[str, str]) -> int:
    """A class's `priority`: an integer of at most nine digits, else 0."""
    value = (fields.get(PRIORITY) or "").strip(SPACE)
    return int(value) if _INTEGER.fullmatch(value) else 0


def matched(classes: Sequence[Class], client: Facts) -> tuple[Class, ...]:
    """The classes this client matches, in the order they apply (each over the one before):
    lowest priority first, so the highest wins; among equal priorities the name that sorts
    first wins (it comes last)."""
    found = [(name, fields) for name, fields in classes if matches(fields, client)]
    found.sort(key=lambda c: c[0], reverse=True)
    found.sort(key=lambda c: priority(c[1]))
    return tuple(found)


def pool_name(class_name: str, subnet: str | None) -> str:
    """The pool (free list, lease records' `pool`) of a class's range on a subnet."""
    return "class:%s@%s" % (class_name, subnet) if subnet else "class:" + class_name


def range_on(fields: Mapping[str, str], subnet: str | None) -> tuple[Range, ...]:
    """A class's `range` parts that lie wholly on `subnet` (all of them on no subnet); parts
    that do not read are skipped, as for groups (allocation.lenient_ranges)."""
    ranges = lenient_ranges(fields.get("range", ""))
    if not subnet or not ranges:
        return ranges
    network = ipaddress.IPv4Network(subnet, strict=False)
    low, high = int(network.network_address), int(network.broadcast_address)
    return tuple((start, end) for start, end in ranges if low <= start and end <= high)


def range_class(matched_classes: Sequence[Class],
                subnet: str | None) -> tuple[str, tuple[Range, ...]] | None:
    """(pool name, ranges) of the class that gives a client its dynamic address: the one
    that wins (the last of `matched_classes`) among those with a `range` on the request's
    subnet; None when no matched class has one there."""
    for name, fields in reversed(matched_classes):
        ranges = range_on(fields, subnet)
        if ranges:
            return pool_name(name, subnet), ranges
    return None


def match_errors(fields: Mapping[str, str]) -> list[str]:
    """What is wrong with a class's match fields and priority, one sentence each."""
    errors = []
    if not any(fields.get(name) for name in MATCH_FIELDS):
        errors.append("a class needs at least one match field (%s)" % ", ".join(MATCH_FIELDS))
    for name in ("ip", "group"):
        if name in fields:
            errors.append("%s: a field of hosts, not of classes" % name)
    if fields.get(ARCH):
        for part in fields[ARCH].split(","):
            value = int(part.strip(SPACE)) if _NUMBER.fullmatch(part.strip(SPACE)) else -1
            if not 0 <= value <= 0xFFFF:
                errors.append("%s: %r is not an architecture number (0-65535)"
                              % (ARCH, part.strip()))
    if fields.get(CLIENT_ID):
        raw = _hex(fields[CLIENT_ID])
        if not raw or len(raw) % 2 or not set(raw) <= _HEX:
            errors.append("%s: %r is not hex (option 61 with its type byte, e.g. "
                          "01020000000102)" % (CLIENT_ID, fields[CLIENT_ID]))
    if fields.get(MAC):
        errors += _mac_prefix_errors(fields[MAC])
    if fields.get(PRIORITY) and not _INTEGER.fullmatch(fields[PRIORITY].strip(SPACE)):
        errors.append("%s: %r is not an integer of at most nine digits"
                      % (PRIORITY, fields[PRIORITY]))
    return errors


def _mac_prefix_errors(value: str) -> list[str]:
    parts = value.strip().lower().replace("-", ":").split(":")
    if not 1 <= len(parts) <= 6 or not all(len(p) == 2 and set(p) <= _HEX for p in parts):
        return ["%s: %r is not a MAC prefix (1 to 6 octets, e.g. b8:27:eb)" % (MAC, value)]
    return []


def without_matching(fields: Mapping[str, str]) -> dict[str, str]:
    """A class's group fields: what it sends, without what chooses its clients."""
    return {k: v for k, v in fields.items() if k not in CLASS_ONLY}


def names(classes: Iterable[Class]) -> list[str]:
    return [name for name, _ in classes]
