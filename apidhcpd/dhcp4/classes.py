"""Client classes: which `class:<name>` hashes a request matches, and in what order they apply.

Knows the match fields (docs/redis.md): `match-vendor-class` (option 60, exact or a prefix
ending in `*`), `match-user-class` (option 77, RFC 3004's length-prefixed items or the bare
text many clients send), `match-arch` (option 93, a comma list of numbers),
`match-client-id` (option 61, hex), `match-mac` (a MAC prefix), `match-circuit-id` and
`match-remote-id` (the relay's option 82, spelled as relay.id_key spells them), and
`priority`. A class with no match field matches nobody; every match field given must match.
Pure: no I/O; what a class's other fields mean is profile.py's.
"""

import string
from collections.abc import Iterable, Mapping, Sequence

import attr

from apidhcpd.dhcp4 import relay as relays
from apidhcpd.dhcp4.message import Message
from apidhcpd.dhcp4.options import OptionCode as Code

VENDOR, USER, ARCH = "match-vendor-class", "match-user-class", "match-arch"
CLIENT_ID, MAC = "match-client-id", "match-mac"
CIRCUIT, REMOTE = "match-circuit-id", "match-remote-id"
MATCH_FIELDS = (VENDOR, USER, ARCH, CLIENT_ID, MAC, CIRCUIT, REMOTE)
PRIORITY = "priority"
# a class's fields that choose clients rather than say what they are sent
CLASS_ONLY = frozenset(MATCH_FIELDS) | {PRIORITY}
# group fields a class cannot carry: the store reads them when it allocates, before classes
# are matched (docs/redis.md, "class:")
NOT_IN_CLASSES = ("range", "lease-time")

Class = tuple[str, Mapping[str, str]]  # (name, fields), as Lookup.classes holds them
_HEX = frozenset(string.hexdigits)


@attr.s(frozen=True, slots=True)
class Facts:
    """What a request says about the client, in the forms the match fields are written in."""

    vendor_class: str | None = attr.ib(default=None)
    user_classes: tuple[str, ...] = attr.ib(default=())
    arches: tuple[int, ...] = attr.ib(default=())
    client_id: str | None = attr.ib(default=None)  # lower-case hex
    mac: str = attr.ib(default="")  # lower-case hex, no separators
    circuit_id: str | None = attr.ib(default=None)
    remote_id: str | None = attr.ib(default=None)


def facts(request: Message, relay: relays.RelayInfo = relays.NONE) -> Facts:
    """The request's options 60, 77, 93, 61, its chaddr and the relay's circuit and remote id."""
    options = request.options
    vendor = options.get(Code.VENDOR_CLASS_ID)
    raw_arch = options.get(Code.CLIENT_ARCH) or b""
    return Facts(
        vendor_class=None if vendor is None else vendor.decode("latin-1"),
        user_classes=user_classes(options.get(Code.USER_CLASS)),
        arches=tuple(int.from_bytes(raw_arch[i:i + 2], "big")
                     for i in range(0, len(raw_arch) - 1, 2)),
        client_id=request.client_id_hex,
        mac=request.mac.replace(":", ""),
        circuit_id=None if relay.circuit_id is None else relays.id_key(relay.circuit_id),
        remote_id=None if relay.remote_id is None else relays.id_key(relay.remote_id))


def user_classes(raw: bytes | None) -> tuple[str, ...]:
    """Option 77's classes: RFC 3004's items (each one length byte, then the text) when the
    value reads that way, and the whole value as bare text (iPXE, dhclient's `send user-class
    "iPXE"`), so a class written `iPXE` matches either encoding."""
    if not raw:
        return ()
    found = [raw.decode("latin-1")]
    items, i = [], 0
    while i < len(raw) and raw[i] and i + 1 + raw[i] <= len(raw):
        items.append(raw[i + 1:i + 1 + raw[i]].decode("latin-1"))
        i += 1 + raw[i]
    if i == len(raw):
        found += items
    return tuple(dict.fromkeys(found))


def _text_matches(pattern: str, value: str | None) -> bool:
    if value is None:
        return False
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


def _hex(text: str) -> str:
    return text.strip().lower().replace(":", "").replace("-", "").replace(".", "")


def _arches(text: str) -> set[int]:
    found = set()
    for part in text.split(","):
        try:
            found.add(int(part.strip(), 0))
        except ValueError:
            pass
    return found


def matches(fields: Mapping[str, str], client: Facts) -> bool:
    """Does a class with these fields match this client? All its match fields must; a class
    without any matches nobody. A match field that does not parse matches nobody."""
    given = [name for name in MATCH_FIELDS if fields.get(name)]
    if not given:
        return False
    for name in given:
        want = fields[name].strip()
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
    try:
        return int(fields.get(PRIORITY) or 0)
    except ValueError:
        return 0


def matched(classes: Sequence[Class], client: Facts) -> tuple[Class, ...]:
    """The classes this client matches, in the order they apply (each over the one before):
    lowest priority first, so the highest wins; among equal priorities the name that sorts
    first wins (it comes last)."""
    found = [(name, fields) for name, fields in classes if matches(fields, client)]
    found.sort(key=lambda c: c[0], reverse=True)
    found.sort(key=lambda c: priority(c[1]))
    return tuple(found)


def match_errors(fields: Mapping[str, str]) -> list[str]:
    """What is wrong with a class's match fields and priority, one sentence each."""
    errors = []
    if not any(fields.get(name) for name in MATCH_FIELDS):
        errors.append("a class needs at least one match field (%s)" % ", ".join(MATCH_FIELDS))
    for name in NOT_IN_CLASSES:
        if name in fields:
            errors.append("%s: not a field of classes (the store reads it before classes "
                          "are matched); set it on the group, subnet or host" % name)
    for name in ("ip", "group"):
        if name in fields:
            errors.append("%s: a field of hosts, not of classes" % name)
    if fields.get(ARCH):
        for part in fields[ARCH].split(","):
            try:
                value = int(part.strip())
            except ValueError:
                value = -1
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
    if fields.get(PRIORITY):
        try:
            int(fields[PRIORITY])
        except ValueError:
            errors.append("%s: %r is not an integer" % (PRIORITY, fields[PRIORITY]))
    return errors


def _mac_prefix_errors(text: str) -> list[str]:
    parts = text.strip().lower().replace("-", ":").split(":")
    if not 1 <= len(parts) <= 6 or not all(len(p) == 2 and set(p) <= _HEX for p in parts):
        return ["%s: %r is not a MAC prefix (1 to 6 octets, e.g. b8:27:eb)" % (MAC, text)]
    return []


def without_matching(fields: Mapping[str, str]) -> dict[str, str]:
    """A class's group fields: what it sends, without what chooses its clients (and without
    the fields a class cannot carry, NOT_IN_CLASSES)."""
    return {k: v for k, v in fields.items() if k not in CLASS_ONLY and k not in NOT_IN_CLASSES}


def names(classes: Iterable[Class]) -> list[str]:
    return [name for name, _ in classes]
