"""What the inventory's fields mean for a DHCPv6 client: the merged layers -> a Profile6 (the
encoded options, the lifetimes of its IAs, Rapid Commit).

Knows the layers' order (the one precedence rule of docs/redis.md: group:default < the
`subnet6:` < the host's group < the matched classes, lowest priority first < the host) and
the DHCPv6 fields: `dns6` (23), `search`, else `domain` (24, a comma list), `ntp6` (56),
`information-refresh` (32, a duration), `option6-<name or code>` (any option of the dhcp6
catalogue in its text form; it wins over the named field of the same option), `rapid-commit`
(yes/no), and the lifetimes (`valid-lifetime`, `preferred-lifetime`, `t1`, `t2`, falling back
to `lease-time`). The DHCPv4 fields of the same hashes mean nothing here. A value that does
not read is skipped with a warning, never a crash. Pure: knows nothing of storage or packets.
"""

from collections.abc import Mapping, Sequence

import attr

from apidhcpd.dhcp6 import options
from apidhcpd.dhcp6.options import OptionCode as C
from apidhcpd.dhcp6.values import OptionError
from apidhcpd.inventory import classes as client_classes
from apidhcpd.inventory.allocation6 import Lifetimes, lifetimes
from apidhcpd.inventory.durations import parse_duration
from apidhcpd.store.contract import NO_FIELDS, Lookup

# a host's fields that say nothing about what it is sent
HOST_ONLY = frozenset({"ip", "ip6", "prefix6", "description", "group", "ts", "dynamic",
                       "range", "pd-pool"})
# what the server writes itself (identifiers, IAs, status, relay options): never the inventory
SERVER_OWNED = frozenset({
    C.CLIENTID, C.SERVERID, C.IA_NA, C.IA_TA, C.IAADDR, C.ORO, C.ELAPSED_TIME, C.RELAY_MSG,
    C.AUTH, C.UNICAST, C.STATUS_CODE, C.RAPID_COMMIT, C.INTERFACE_ID, C.RECONF_MSG,
    C.RECONF_ACCEPT, C.IA_PD, C.IAPREFIX, C.ERO, C.REMOTE_ID, C.SUBSCRIBER_ID,
    C.CLIENT_LINKLAYER_ADDR, C.RELAY_SOURCE_PORT})
NAMED = {"dns6": C.DNS_SERVERS, "ntp6": C.NTP_SERVER}
OPTION_PREFIX = "option6-"
IRT_DEFAULT = 86400  # RFC 8415 7.6: the information refresh time a client assumes
_YES, _NO = ("yes", "on", "true", "1"), ("no", "off", "false", "0", "")


@attr.s(frozen=True, slots=True)
class Profile6:
    """What one merge of the layers tells the server to send, parsed once."""

    options: dict[int, bytes] = attr.ib()  # encoded values, by code
    lifetimes: Lifetimes = attr.ib()
    rapid_commit: bool = attr.ib(default=False)
    information_refresh: int = attr.ib(default=IRT_DEFAULT)
    errors: tuple[str, ...] = attr.ib(default=())  # values that were skipped


def layers(lookup: Lookup, host_fields: Mapping[str, str],
           matched: Sequence[client_classes.Class] = ()) -> list[Mapping[str, str]]:
    """The fields of each layer, least specific first (the host's without HOST_ONLY)."""
    found: list[Mapping[str, str]] = [lookup.default_fields]
    if lookup.subnet:
        found.append(lookup.subnet_fields)
    if lookup.group_name != "default":
        found.append(lookup.group_fields)
    found += [client_classes.without_matching(fields) for _, fields in matched]
    found.append({k: v for k, v in host_fields.items() if k not in HOST_ONLY}
                 if host_fields else NO_FIELDS)
    return found


def build_profile(layered: Sequence[Mapping[str, str]], name: str = "") -> Profile6:
    """The Profile6 of these layers (least specific first); `name` labels its warnings."""
    fields: dict[str, str] = {}
    for layer in layered:
        fields.update(layer)
    errors: list[str] = []
    encoded: dict[int, bytes] = {}

    def put(code: int, field: str, text: str) -> None:
        option = options.OPTIONS.get(code) or options.lookup(str(code))
        try:
            encoded[code] = option.encode_text(text)
        except (OptionError, ValueError) as e:
            errors.append("%s%s: %s %r: %s" % (name and name + ": ", field, option.name,
                                               text, e))

    for field, code in NAMED.items():
        if fields.get(field):
            put(code, field, fields[field])
    names = fields.get("search") or fields.get("domain")
    if names:
        put(C.DOMAIN_LIST, "search" if fields.get("search") else "domain", names)
    for field in sorted(f for f in fields if f.startswith(OPTION_PREFIX) and fields[f]):
        try:
            option = options.lookup(field[len(OPTION_PREFIX):])
        except OptionError as e:
            errors.append("%s%s: %s" % (name and name + ": ", field, e))
            continue
        if option.code in SERVER_OWNED:
            errors.append("%s%s: option %d is the server's to write" % (
                name and name + ": ", field, option.code))
            continue
        put(option.code, field, fields[field])
    rapid = fields.get("rapid-commit", "").strip().lower()
    if rapid not in _YES + _NO:
        errors.append("%srapid-commit: %r is not yes or no" % (name and name + ": ", rapid))
    refresh = IRT_DEFAULT
    if fields.get("information-refresh"):
        try:
            refresh = parse_duration(fields["information-refresh"])
        except ValueError as e:
            errors.append("%sinformation-refresh: %s" % (name and name + ": ", e))
    return Profile6(encoded, lifetimes(*reversed(layered)), rapid in _YES, refresh,
                    tuple(errors))
