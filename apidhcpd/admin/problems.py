"""What is wrong with one hash of the inventory, judged the way the server reads it.

Knows, for each kind of key (hosts, groups, subnets, classes, the seed's pool hash), the
problems a hash can have: build_profile's errors (values the server would skip; not its
notes, values it accepts with a correction), a reserved address off its network or already
the server's, a range outside its subnet, a group that does not exist, a class's match
fields that do not parse. The DHCPv6 side (subnet6: and duid: keys, the DHCPv6 fields of the
others) is problems6.py's. Reads the store only through the reader it is given
(validation.py's). Which problems a write *adds*, and conflicts between hosts, are
validation.py's.
"""

import ipaddress
import re

from apidhcpd.admin import problems6
from apidhcpd.admin.inputs import Invalid, group_name, normalise_mac
from apidhcpd.dhcp4.profile import Link, build_profile
from apidhcpd.inventory import allocation, classes
from apidhcpd.store import keys
from apidhcpd.store.contract import Host

SERVER_FIELDS = ("ts", "dynamic")  # written by the DHCP server only
# build_profile needs the network a request came in on; without a link nothing is known
NO_LINK = Link("0.0.0.0", ipaddress.IPv4Network("0.0.0.0/0"))


async def added_errors(reader, key, before, after, link) -> list[str]:
    """The problems the hash at `key` has as `after` that it had not as `before`."""
    check = PROBLEMS.get(key if key == keys.SEED_POOL else key.split(":", 1)[0] + ":")
    if check is None:
        return []
    found = await check(reader, key, after, link)
    known = set(await check(reader, key, before, link)) if before else set()
    return [problem for problem in found if problem not in known]


def user_view(fields: dict[str, str]) -> dict[str, str]:
    """The fields of a host an operator wrote: without `ts`, `dynamic` and a lease's `ip`."""
    view = {k: v for k, v in fields.items() if k not in SERVER_FIELDS}
    if fields.get("dynamic"):
        view.pop("ip", None)
    return view


def _own_errors(name, profile, base) -> list[str]:
    """build_profile's errors (not notes) that `profile` has and `base` (what it inherits)
    has not, without the `group <name>: ` prefix and the fallback the server would use."""
    inherited, prefix = set(base.errors), "group %s: " % name
    return [re.sub(r"(; using .*| ignored)$", "", error[len(prefix):] if
                   error.startswith(prefix) else error)
            for error in profile.errors if error not in inherited]


def _ranges_outside(profile) -> list[str]:
    network = profile.network
    if not network.prefixlen:
        return []  # no network known (no link, no gateway)
    low, high = int(network.network_address), int(network.broadcast_address)
    return ["range %s-%s is outside %s" % (allocation.int_to_ip(start),
                                           allocation.int_to_ip(end), network)
            for start, end in profile.ranges if not (low <= start and end <= high)]


async def _host_problems(reader, key, fields, link) -> list[str]:
    view = user_view(fields)
    errors = []
    if "range" in view:
        errors.append("range: a field of groups and subnets, not of hosts")
    name = Host(key, view).group_name
    default = await reader.get(keys.DEFAULT_GROUP) or {}
    group = default if name == "default" else await reader.get(keys.group(name))
    if group is None:
        if view.get("group"):
            errors.append("%s does not exist" % keys.group(name))
        name, group = "default", default
    merged = dict(default)
    if name != "default":
        merged.update(group)
    merged["range"] = ""
    profile = build_profile(key, merged, link or NO_LINK, host_fields=view)
    errors += _own_errors(key, profile, build_profile(key, merged, link or NO_LINK))
    if "ip" in view:
        errors += await _address_errors(reader, view["ip"], profile.network, name, link)
    return errors + await problems6.host_problems(reader, view)


async def _address_errors(reader, ip, network, name, link) -> list[str]:
    """A reserved address must parse, lie on its group's network (when one is known) or in a
    `subnet:` key, and be neither that network's network/broadcast address nor ours."""
    try:
        address = ipaddress.IPv4Address(ip)
    except ValueError:
        return ["ip %r is not an IPv4 address" % (ip,)]
    if hasattr(reader.store, "subnet_of"):
        match = await reader.store.subnet_of(ip)
    else:
        match = allocation.longest_match(ip, [k[len(keys.SUBNET):] for k in
                                           await reader.hashes(keys.SUBNET)])
    networks = [ipaddress.IPv4Network(match, strict=False)] if match else []
    networks += [network] if network.prefixlen else []
    errors = []
    home = next((n for n in networks if address in n), None)
    if networks and home is None:
        errors.append("ip %s is outside %s, the network of group:%s, and in no subnet: key"
                      % (ip, network, name))
    elif home is not None and home.prefixlen < 31 and address in (home.network_address,
                                                                   home.broadcast_address):
        errors.append("ip %s is the network or broadcast address of %s" % (ip, home))
    if link is not None and ip == link.address:
        errors.append("ip %s is this server's own address" % ip)
    return errors


async def _group_problems(reader, key, fields, link) -> list[str]:
    errors = ["%s: a field of hosts, not of groups" % name for name in ("ip", "group")
              if name in fields]
    default = {} if key == keys.DEFAULT_GROUP else (await reader.get(keys.DEFAULT_GROUP) or {})
    merged = dict(default)
    merged.update(fields)
    merged["range"] = fields.get("range", "")
    profile = build_profile(key, merged, link or NO_LINK)
    base = build_profile(key, dict(default, range=""), link or NO_LINK)
    return (errors + _own_errors(key, profile, base) + _ranges_outside(profile)
            + problems6.misplaced(fields, "groups") + problems6.profile_errors(fields))


async def _class_problems(reader, key, fields, link) -> list[str]:
    """A class's match fields (classes.match_errors), then its other fields judged as a
    group's over group:default, the way GroupOptions merges them."""
    errors = classes.match_errors(fields)
    default = await reader.get(keys.DEFAULT_GROUP) or {}
    merged = dict(default, range="")
    merged.update(classes.without_matching(fields))
    profile = build_profile(key, merged, link or NO_LINK)
    base = build_profile(key, dict(default, range=""), link or NO_LINK)
    return (errors + _own_errors(key, profile, base) + problems6.misplaced(fields, "classes")
            + problems6.profile_errors(fields))


async def _subnet_problems(reader, key, fields, link) -> list[str]:
    errors = ["ip: a field of hosts, not of subnets"] if "ip" in fields else []
    errors += problems6.subnet_errors(fields)
    if fields.get("group"):
        name = group_name(fields["group"])
        if await reader.get(keys.group(name)) is None:
            errors.append("%s does not exist" % keys.group(name))
    try:
        network = ipaddress.IPv4Network(key.removeprefix(keys.SUBNET))
    except ValueError as e:
        return errors + ["%s is not a network: %s" % (key, e)]
    default = await reader.get(keys.DEFAULT_GROUP) or {}
    merged = dict(default)
    merged.update(fields)
    merged["range"] = fields.get("range", "")
    profile = build_profile(key, merged, link or NO_LINK, network=network)
    base = build_profile(key, dict(default, range=""), link or NO_LINK, network=network)
    return errors + _own_errors(key, profile, base) + _ranges_outside(profile)


async def _pool_problems(reader, key, fields, link) -> list[str]:
    errors = []
    for ip, owner in fields.items():
        errors += pool_entry_errors(ip, owner)
    return errors


def pool_entry_errors(ip, owner) -> list[str]:
    """A `pool` field is an address; its value empty (free) or the owner's MAC."""
    errors = []
    try:
        ipaddress.IPv4Address(ip)
    except ValueError:
        errors.append("%r is not an IPv4 address" % (ip,))
    if owner:
        try:
            normalise_mac(owner)
        except Invalid:
            errors.append("owner %r of %s is not a MAC address" % (owner, ip))
    return errors


PROBLEMS = dict.fromkeys(keys.HOST_PREFIXES, _host_problems)
PROBLEMS.update({keys.GROUP: _group_problems, keys.SUBNET: _subnet_problems,
                 keys.CLASS: _class_problems, keys.SEED_POOL: _pool_problems,
                 keys.SUBNET6: problems6.subnet6_problems, keys.DUID: problems6.duid_problems})
