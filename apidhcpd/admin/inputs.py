"""Keys and values as people write them, and Invalid: what a rejected input or change is.

Knows the spellings of the keys of the Redis contract (docs/redis.md: store/keys.py names
them) an operator may write, and turns each into the one stored form (a MAC as
aa:bb:cc:dd:ee:ff, a subnet as its network, a subnet6 as its network in RFC 5952 form, a
DUID as lower-case hex). No I/O; what a change to a hash may hold is validation.py's to judge.
"""

import ipaddress
import re
from collections.abc import Iterable

from apidhcpd.dhcp6 import duid
from apidhcpd.dhcp6.values import OptionError
from apidhcpd.inventory import allocation6
from apidhcpd.store import keys

NOUNS = {keys.MAC: "host", keys.CLIENT: "client", keys.RELAY: "host", keys.REMOTE: "host",
         keys.GROUP: "group", keys.SUBNET: "subnet", keys.CLASS: "class",
         keys.SEED_POOL: "pool", keys.SUBNET6: "subnet6", keys.DUID: "host"}

# matched with fullmatch(): `$` would also match before a final newline ("client:foo\n")
_MACS = (re.compile(r"[0-9a-f]{1,2}([:.-])(?:[0-9a-f]{1,2}\1){4}[0-9a-f]{1,2}"),
         re.compile(r"[0-9a-f]{12}"), re.compile(r"[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}"))
_GROUP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_CLIENT_ID = re.compile(r"[!-~]{1,255}")
_DUID_HEX = (re.compile(r"(?:[0-9a-f]{2})+"),
             re.compile(r"[0-9a-f]{2}([:-])(?:[0-9a-f]{2}\1)*[0-9a-f]{2}"))
_PORT_ID = re.compile(r"(?:%s|%s)\S+" % (re.escape(keys.RELAY), re.escape(keys.REMOTE)))


class Invalid(Exception):
    """A rejected change: `status` (400 bad input, 404 missing, 409 conflict), a short
    `error`, and one line per problem in `details`; `key`, when set, is the key they are
    about (the CLI prefixes each line with it; the API's URL already names it)."""

    def __init__(self, status: int, error: str, details: Iterable = (),
                 key: str | None = None):
        super().__init__(error)
        self.status = status
        self.error = error
        self.details = [str(d) for d in details]
        self.key = key

    def lines(self) -> list[str]:
        lines = self.details or [self.error]
        return ["%s: %s" % (self.key, line) for line in lines] if self.key else list(lines)

    def __str__(self) -> str:
        return "; ".join(self.lines())


def noun(key: str) -> str:
    return NOUNS.get(key if key == keys.SEED_POOL else key.split(":", 1)[0] + ":", "entry")


def normalise_mac(text) -> str:
    """`AA-BB-CC-DD-EE-FF`, `2:0:0:0:0:a`, `aabb.ccdd.eeff`, `aabbccddeeff`, `mac:...` ->
    `aa:bb:cc:dd:ee:ff`. One separator throughout; Invalid otherwise."""
    low = text.strip().lower() if isinstance(text, str) else ""
    low = low.removeprefix(keys.MAC)
    match = next((m for m in (p.fullmatch(low) for p in _MACS) if m), None)
    if match is None:
        raise Invalid(400, "bad MAC address",
                      ["bad MAC address %r (write aa:bb:cc:dd:ee:ff)" % (text,)])
    if match.re is _MACS[0]:
        return ":".join(part.zfill(2) for part in low.split(match.group(1)))
    digits = low.replace(".", "")
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def mac_key(text) -> str:
    return keys.mac(normalise_mac(text))


def client_key(text) -> str:
    """`client:<id>`: option 61 as hex, or a host name; printable ASCII, no spaces."""
    ident = text.removeprefix(keys.CLIENT) if isinstance(text, str) else text
    if not isinstance(ident, str) or not _CLIENT_ID.fullmatch(ident):
        raise Invalid(400, "bad client id", ["bad client id %r (1 to 255 printable ASCII "
                                             "characters, no spaces)" % (text,)])
    return keys.client(ident)


def group_key(text) -> str:
    name = text.removeprefix(keys.GROUP) if isinstance(text, str) else text
    if not isinstance(name, str) or not _GROUP_NAME.fullmatch(name):
        raise Invalid(400, "bad group name", ["bad group name %r (up to 64 letters, digits, "
                                              "'.', '_', '-')" % (text,)])
    return keys.group(name)


def class_key(text) -> str:
    """`class:<name>` from `name` or `class:name`: names spelled as group names are."""
    name = text.removeprefix(keys.CLASS) if isinstance(text, str) else text
    if not isinstance(name, str) or not _GROUP_NAME.fullmatch(name):
        raise Invalid(400, "bad class name", ["bad class name %r (up to 64 letters, digits, "
                                              "'.', '_', '-')" % (text,)])
    return keys.client_class(name)


def subnet_key(text) -> str:
    """`subnet:<network>/<length>`, from `198.51.100.0/24` or `subnet:198.51.100.0/24`."""
    net = text.removeprefix(keys.SUBNET) if isinstance(text, str) else text
    if not isinstance(net, str) or "/" not in net:
        raise Invalid(400, "bad subnet", ["bad subnet %r: write it as network/length"
                                          % (text,)])
    try:
        return keys.subnet(str(ipaddress.IPv4Network(net.strip())))
    except ValueError as e:
        raise Invalid(400, "bad subnet", ["bad subnet %r: %s" % (text, e)]) from e


def subnet6_key(text) -> str:
    """`subnet6:<network>/<length>` in RFC 5952 form (the only spelling the lookup matches),
    from the network in any form RFC 4291 allows (allocation6's strict reader: hex groups, no
    zone, no embedded IPv4), with or without `subnet6:`."""
    net = text.removeprefix(keys.SUBNET6).strip() if isinstance(text, str) else text
    if not isinstance(net, str) or "/" not in net:
        raise Invalid(400, "bad subnet6", ["bad subnet6 %r: write it as network/length"
                                           % (text,)])
    try:
        return keys.subnet6(allocation6.format_prefix(*allocation6.prefix6(net)))
    except ValueError as e:
        raise Invalid(400, "bad subnet6", ["bad subnet6 %r: %s" % (text, e)]) from e


def duid_key(text) -> str:
    """`duid:<DUID as lower-case hex>`, from hex with or without `:` or `-` between the bytes
    (one separator throughout): a DUID of 3 to 130 bytes whose type's fixed fields fit
    (RFC 8415 11; dhcp6/duid.py reads it)."""
    low = text.strip().lower().removeprefix(keys.DUID) if isinstance(text, str) else ""
    if not any(p.fullmatch(low) for p in _DUID_HEX):
        raise Invalid(400, "bad DUID", ["bad DUID %r (write it as hex: 000300010200000000"
                                        "0a, or 00:03:00:01:...)" % (text,)])
    raw = bytes.fromhex(low.replace(":", "").replace("-", ""))
    try:
        duid.parse(raw)
    except OptionError as e:
        raise Invalid(400, "bad DUID", ["bad DUID %r: %s" % (text, e)]) from e
    return keys.duid(raw.hex())


def inventory_key(text: str) -> str:
    """Any key an operator writes (`mac:`, `client:`, `group:`, `subnet:`, `class:`, `relay:`,
    `remote:`, `pool`), normalised; Invalid for any other key."""
    if text == keys.SEED_POOL or _PORT_ID.fullmatch(text):
        return text
    for prefix, parse in ((keys.MAC, mac_key), (keys.CLIENT, client_key),
                          (keys.GROUP, group_key), (keys.SUBNET, subnet_key),
                          (keys.CLASS, class_key)):
        if text.startswith(prefix):
            return parse(text)
    raise Invalid(400, "bad key", ["%r is not an inventory key (mac:, client:, group:, "
                                   "subnet:, class:, relay:, remote:, pool)" % (text,)])


def ipv4(text, what: str = "address") -> str:
    try:
        if isinstance(text, str):
            return str(ipaddress.IPv4Address(text.strip()))
    except ValueError:
        pass
    raise Invalid(400, "bad %s" % what, ["bad %s %r: not an IPv4 address" % (what, text)])


def group_name(value: str) -> str:
    """A `group` field's value (`lab` or `group:lab`) -> `lab`."""
    return value.removeprefix(keys.GROUP)
