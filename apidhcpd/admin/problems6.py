"""What is wrong with the DHCPv6 side of one hash, judged the way the DHCPv6 server and the
store read it: `subnet6:` keys, `duid:` hosts, and the DHCPv6 fields of every other hash.

Knows the DHCPv6 fields (inventory/fields6.py) and reads each with the reader the server or
the store uses: allocation6's strict readers for `range`, `pd-pool`, `ip6` and `prefix6` (the
store's lenient readers skip what these refuse), the DHCPv6 server's profile reader
(dhcp6/profile.py, over the option catalogue) for `dns6`, `ntp6`, the search list,
`option6-...`, `rapid-commit` and `information-refresh`, durations.py for the lifetimes.
Reads the store only through the reader it is given (validation.py's: `get`, and IAdmin6's
`subnet6_of` where the store has it, else `hashes`). Conflicts between hosts are
validation.py's; problems.py calls in here for the DHCPv6 fields of DHCPv4 keys.
"""

from apidhcpd.dhcp6 import profile as profile6
from apidhcpd.inventory import allocation6
from apidhcpd.inventory.allocation6 import format6, format_prefix, mask
from apidhcpd.inventory.durations import parse_duration
from apidhcpd.inventory.fields6 import HOST_FIELDS6, SHARED, SUBNET6_FIELDS, is_field6
from apidhcpd.store import keys

LIFETIMES = ("preferred-lifetime", "valid-lifetime", "t1", "t2")  # read leniently by the server
DOCS = "docs/redis.md"


def profile_errors(fields: dict[str, str], shared: bool = False) -> list[str]:
    """The DHCPv6 option and lifetime fields of a hash that the server would skip: the
    errors of the DHCPv6 server's own reader (dhcp6/profile.py: `dns6`, `ntp6`,
    `option6-...`, `rapid-commit`, `information-refresh`), and each lifetime that is no
    duration (the server falls back to the next layer's without a word). With `shared`,
    also `lease-time` and the search list (`search`, else `domain`), which DHCPv4's reader
    judges on every key DHCPv4 reads."""
    names = ("search", "domain") if shared else ()
    own = {k: v for k, v in fields.items() if is_field6(k) or k in names}
    errors = list(profile6.build_profile([own]).errors)
    for field in LIFETIMES + (("lease-time",) if shared else ()):
        if fields.get(field):
            try:
                parse_duration(fields[field])
            except ValueError as e:
                errors.append("%s: %s" % (field, e))
    return errors


def misplaced(fields: dict[str, str], noun: str) -> list[str]:
    """The DHCPv6 fields that do not belong on a group or a class (`noun`)."""
    return (["%s: a field of hosts, not of %s" % (name, noun) for name in sorted(HOST_FIELDS6)
             if name in fields]
            + ["%s: a field of subnet6: keys" % name for name in sorted(SUBNET6_FIELDS)
               if name in fields])


def subnet_errors(fields: dict[str, str]) -> list[str]:
    """A `subnet:` key is an IPv4 network: a DHCPv6 field there means nothing."""
    return ["%s: a DHCPv6 field; a subnet: key is an IPv4 network (write it on a subnet6: key)"
            % name for name in fields if is_field6(name)]


async def group_errors(reader, fields: dict[str, str]) -> list[str]:
    if fields.get("group"):
        name = keys.group_name(fields["group"])
        if await reader.get(keys.group(name)) is None:
            return ["%s does not exist" % keys.group(name)]
    return []


async def host_problems(reader, fields: dict[str, str], shared: bool = False) -> list[str]:
    """A host's DHCPv6 side: its reservations, no pool, the option fields."""
    errors = ["%s: a field of subnet6: keys" % name for name in sorted(SUBNET6_FIELDS)
              if name in fields]
    if "ip6" in fields:
        errors += await _address_errors(reader, fields["ip6"])
    if "prefix6" in fields:
        text = fields["prefix6"].strip(allocation6.SPACE)
        if "/" not in text:
            errors.append("prefix6 %r is not a prefix (write <address>/<length>)" % (text,))
        else:
            try:
                allocation6.prefix6(text)
            except ValueError as e:
                errors.append("prefix6: %s" % e)
    return errors + profile_errors(fields, shared)


async def _address_errors(reader, text: str) -> list[str]:
    """A reserved `ip6` reads (strictly: the store skips what does not), lies in a `subnet6:`
    key (the server gives a reservation only on its link, and places every request on a
    subnet6:) and is not that network's Subnet-Router anycast address (RFC 4291 2.6.1)."""
    text = text.strip(allocation6.SPACE)
    if "/" in text:
        return ["ip6 %r is a prefix, not an address (a delegated prefix is prefix6)" % (text,)]
    try:
        value = allocation6.address6(text)
    except ValueError:
        return ["ip6 %r is not an IPv6 address" % (text,)]
    address = format6(value)
    if hasattr(reader.store, "subnet6_of"):
        network = await reader.store.subnet6_of(address)
    else:
        network = allocation6.longest_match6(address, [keys.network6(k) for k in
                                                       await reader.hashes(keys.SUBNET6)])
    if network is None:
        return ["ip6 %s is in no subnet6: key" % address]
    start, length = allocation6.prefix6(network)
    if length < 127 and value == start:
        return ["ip6 %s is the Subnet-Router anycast address of %s" % (address, network)]
    return []


async def subnet6_problems(reader, key: str, fields: dict[str, str], link) -> list[str]:
    """A `subnet6:` key: its network in RFC 5952 form, DHCPv6 fields only, a `range` inside
    the network, a `pd-pool` off it (its prefixes are routed to the routers that ask), the
    group it names existing, every value as the server reads it."""
    found = allocation6.network6(keys.network6(key))
    if found is None:
        return ["%s is not a network in RFC 5952 form" % key]
    errors = ["%s: a field of hosts, not of subnets" % name for name in fields
              if name in ("ip",) + tuple(sorted(HOST_FIELDS6))]
    errors += ["%s: not a field of subnet6: keys (a subnet6: holds DHCPv6 fields: %s)"
               % (name, DOCS) for name in fields
               if not (is_field6(name) or name in SHARED or name in ("range", "ip"))]
    errors += await group_errors(reader, fields)
    network = format_prefix(*found)
    try:
        for first, last in allocation6.parse_ranges6(fields.get("range", "")):
            if mask(first, found[1]) != found[0] or mask(last, found[1]) != found[0]:
                errors.append("range %s-%s is outside %s" % (format6(first), format6(last),
                                                             network))
    except ValueError as e:
        errors.append("range: %s" % e)
    try:
        for start, length in allocation6.parse_pd_pool(fields.get("pd-pool", ""))[0]:
            common = min(length, found[1])
            if mask(start, common) == mask(found[0], common):
                errors.append("pd-pool %s overlaps %s, the subnet's own network: delegated "
                              "prefixes are routed to the routers that ask, off the link"
                              % (format_prefix(start, length), network))
    except ValueError as e:
        errors.append("pd-pool: %s" % e)
    return errors + profile_errors(fields, shared=True)


async def duid_problems(reader, key: str, fields: dict[str, str], link) -> list[str]:
    """A `duid:` host: what DHCPv6 reads of a host (DHCPv4 never reads these keys)."""
    errors = []
    for name in fields:
        if name == "ip":
            errors.append("ip: a duid: key serves DHCPv6 only (DHCPv4 never reads it): write "
                          "ip on the host's mac: or client: key")
        elif not (is_field6(name) or name in SHARED or name in ("ts", "dynamic")):
            errors.append("%s: not a field of duid: keys (a duid: host has the DHCPv6 fields "
                          "of mac:)" % name)
    errors += await group_errors(reader, fields)
    return errors + await host_problems(reader, fields, shared=True)
