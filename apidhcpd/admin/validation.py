"""What makes a change to the inventory valid: keys, written fields, and what a write adds.

Knows the keys of the Redis contract (docs/redis.md) and their spellings, the fields only the
server writes, and how to judge a hash the way the server reads it (inventory.build_profile):
Profile.errors (values the server would skip) are errors, Profile.notes (values it accepts with
a correction, such as the seed's netmask in `broadcast`) are not. Only problems that a write
adds count: what was stored before it, or is inherited from group:default, never blocks an
unrelated write. Problems are one-line sentences; they are raised as one Invalid.

No I/O except the reads of the store it is given (IAdmin: `get`, and the bounded reads
`subnet_of`, `holders`, `group_users` where the store has them, else `hashes`), or of a
Snapshot of the inventory (imports, which check many keys at once). Writing is the caller's: api.py
maps Invalid to its JSON error, cli.py prints one line per detail.
"""

import ipaddress
import re
from collections.abc import Iterable

from twisted.internet import defer

from apidhcpd.dhcp4.profile import Link, build_profile
from apidhcpd.inventory import allocation
from apidhcpd.store.contract import Host
from apidhcpd.store.keys import HOST_PREFIXES

SERVER_FIELDS = ("ts", "dynamic")  # written by the DHCP server only
# build_profile needs the network a request came in on; without a link nothing is known
NO_LINK = Link("0.0.0.0", ipaddress.IPv4Network("0.0.0.0/0"))
NOUNS = {"mac:": "host", "client:": "client", "relay:": "host", "remote:": "host",
         "group:": "group", "subnet:": "subnet", "pool": "pool"}

# matched with fullmatch(): `$` would also match before a final newline ("client:foo\n")
_MACS = (re.compile(r"[0-9a-f]{1,2}([:.-])(?:[0-9a-f]{1,2}\1){4}[0-9a-f]{1,2}"),
         re.compile(r"[0-9a-f]{12}"), re.compile(r"[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}"))
_GROUP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_CLIENT_ID = re.compile(r"[!-~]{1,255}")
_PORT_ID = re.compile(r"(relay|remote):\S+")
_FIELD_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
RESERVED, LEASED = "address already reserved", "address already leased"


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
    return NOUNS.get(key if key == "pool" else key.split(":", 1)[0] + ":", "entry")


# ---------------------------------------------------------------------------------------------
# keys and values as people write them

def normalise_mac(text) -> str:
    """`AA-BB-CC-DD-EE-FF`, `2:0:0:0:0:a`, `aabb.ccdd.eeff`, `aabbccddeeff`, `mac:...` ->
    `aa:bb:cc:dd:ee:ff`. One separator throughout; Invalid otherwise."""
    low = text.strip().lower() if isinstance(text, str) else ""
    low = low[4:] if low.startswith("mac:") else low
    match = next((m for m in (p.fullmatch(low) for p in _MACS) if m), None)
    if match is None:
        raise Invalid(400, "bad MAC address",
                      ["bad MAC address %r (write aa:bb:cc:dd:ee:ff)" % (text,)])
    if match.re is _MACS[0]:
        return ":".join(part.zfill(2) for part in low.split(match.group(1)))
    digits = low.replace(".", "")
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def mac_key(text) -> str:
    return "mac:" + normalise_mac(text)


def client_key(text) -> str:
    """`client:<id>`: option 61 as hex, or a host name; printable ASCII, no spaces."""
    ident = text[7:] if isinstance(text, str) and text.startswith("client:") else text
    if not isinstance(ident, str) or not _CLIENT_ID.fullmatch(ident):
        raise Invalid(400, "bad client id", ["bad client id %r (1 to 255 printable ASCII "
                                             "characters, no spaces)" % (text,)])
    return "client:" + ident


def group_key(text) -> str:
    name = text[6:] if isinstance(text, str) and text.startswith("group:") else text
    if not isinstance(name, str) or not _GROUP_NAME.fullmatch(name):
        raise Invalid(400, "bad group name", ["bad group name %r (up to 64 letters, digits, "
                                              "'.', '_', '-')" % (text,)])
    return "group:" + name


def subnet_key(text) -> str:
    """`subnet:<network>/<length>`, from `198.51.100.0/24` or `subnet:198.51.100.0/24`."""
    net = text[7:] if isinstance(text, str) and text.startswith("subnet:") else text
    if not isinstance(net, str) or "/" not in net:
        raise Invalid(400, "bad subnet", ["bad subnet %r: write it as network/length"
                                          % (text,)])
    try:
        return "subnet:" + str(ipaddress.IPv4Network(net.strip()))
    except ValueError as e:
        raise Invalid(400, "bad subnet", ["bad subnet %r: %s" % (text, e)])


def inventory_key(text: str) -> str:
    """Any key an operator writes (`mac:`, `client:`, `group:`, `subnet:`, `relay:`,
    `remote:`, `pool`), normalised; Invalid for any other key."""
    if text == "pool" or _PORT_ID.fullmatch(text):
        return text
    for prefix, parse in (("mac:", mac_key), ("client:", client_key), ("group:", group_key),
                          ("subnet:", subnet_key)):
        if text.startswith(prefix):
            return parse(text)
    raise Invalid(400, "bad key", ["%r is not an inventory key (mac:, client:, group:, "
                                   "subnet:, relay:, remote:, pool)" % (text,)])


def ipv4(text, what: str = "address") -> str:
    try:
        if isinstance(text, str):
            return str(ipaddress.IPv4Address(text.strip()))
    except ValueError:
        pass
    raise Invalid(400, "bad %s" % what, ["bad %s %r: not an IPv4 address" % (what, text)])


def group_name(value: str) -> str:
    """A `group` field's value (`lab` or `group:lab`) -> `lab`."""
    return value[6:] if value.startswith("group:") else value


# ---------------------------------------------------------------------------------------------
# the fields a write names

def check_fields(key: str, values: dict, removed: Iterable[str] = (),
                 nullable: bool = False) -> None:
    """Invalid (400) unless `values` (and the `removed` field names) may be written at `key`
    by an operator: names are field names (addresses in `pool`), values strings (or None,
    meaning remove, when `nullable`), `ts` and `dynamic` untouched (the server's)."""
    errors = []
    for name in list(values) + list(removed):
        value = values.get(name, "")
        if not isinstance(name, str) or not name:
            errors.append("%r: not a field name" % (name,))
        elif name in SERVER_FIELDS and key != "pool":
            errors.append("%s: written by the server; it cannot be set or removed" % name)
        elif not (isinstance(value, str) or (nullable and value is None)):
            errors.append("%s: values are strings%s, not %s" % (
                name, " (or null to remove the field)" if nullable else "",
                type(value).__name__))
        elif key == "pool":
            errors += _pool_entry_errors(name, value or "")
        elif not _FIELD_NAME.fullmatch(name):
            errors.append("%r: not a field name (letters, digits, '.', '_', '-')" % (name,))
    if errors:
        raise Invalid(400, "invalid fields", errors, key)


# ---------------------------------------------------------------------------------------------
# what a write adds

async def check_write(store, key: str, before: dict[str, str] | None,
                      after: dict[str, str], link: Link | None = None) -> None:
    """Invalid unless the hash at `key` may change from `before` (None: new) to `after`.
    400 for each problem `after` has that `before` did not have; then 409 if a newly
    reserved address (or pool address) is another host's. `link`: the server's address and
    network (the API's), or None (the CLI's: nothing known about the interface).

    Reads only what the key needs from `store`: group:default, the host's group, the subnet
    of a host's address; for a new reservation, the other holders of the address (a store's
    `holders`, by its indexes; else every host hash). An empty `after` deletes the hash:
    check_delete judges it."""
    reader = _Reader(store)
    if not after:
        await check_delete(reader, key)
        return
    errors = await _added_errors(reader, key, before, after, link)
    if errors:
        raise Invalid(400, "invalid " + noun(key), errors, key)
    conflicts = await _conflicts(reader, key, before, after)
    if conflicts:
        raise Invalid(409, conflicts[0][0], [message for _, message in conflicts], key)


async def check_delete(store, key: str) -> None:
    """Invalid (409) if `key` must not be deleted: group:default, or a group that a host or a
    subnet names (a store's `group_users`: a walk over every key in small steps; else every
    host and subnet hash)."""
    if key == "group:default":
        raise Invalid(409, "group:default must exist", [
            "group:default must exist: it serves reserved hosts without a group and every "
            "group inherits from it; change it with PUT or PATCH (apidhcpd-cli set group "
            "default) instead"])
    if not key.startswith("group:"):
        return
    if hasattr(store, "group_users"):
        users = await store.group_users(key[6:], 4)
        more = " and more" if users[3:] else ""
    else:
        users = []
        for prefix in HOST_PREFIXES + ("subnet:",):
            for other, fields in (await store.hashes(prefix)).items():
                if fields.get("group") and "group:" + group_name(fields["group"]) == key:
                    users.append(other)
        users.sort()
        more = " and %d more" % (len(users) - 3) if users[3:] else ""
    if users:
        raise Invalid(409, "group in use", ["%s is used by %s%s" % (
            key, ", ".join(users[:3]), more)])


def check_pool_removal(pool: dict[str, str], addresses: Iterable[str], force: bool) -> None:
    """Invalid unless every address is in the `pool` hash (404) and, unless `force`, has no
    owner (409: the owner's lease would lose its address)."""
    addresses = list(addresses)
    missing = ["%s is not in the pool" % ip for ip in addresses if ip not in pool]
    if missing:
        raise Invalid(404, "not in the pool", missing)
    held = ["%s is held by %s: end its lease first, or force the removal" % (ip, pool[ip])
            for ip in addresses if pool[ip]]
    if held and not force:
        raise Invalid(409, "address in use", held)


async def check_snapshot(before: dict[str, dict[str, str]], after: dict[str, dict[str, str]],
                         keys: Iterable[str], link: Link | None = None) -> None:
    """Invalid (400, every problem as `key: problem`) unless the inventory may go from
    `before` to `after` ({key: fields}, whole snapshots) by writing `keys`: check_write and
    check_delete for each key, judged against `after`, so that one import may create a
    group and the hosts that use it."""
    reader, details = _Reader(Snapshot(after)), []
    for key in keys:
        if after.get(key) is None:
            try:
                await check_delete(reader, key)
            except Invalid as e:
                details += e.lines()
            continue
        errors = await _added_errors(reader, key, before.get(key), after[key], link)
        errors += [message for _, message in await _conflicts(reader, key, before.get(key),
                                                               after[key])]
        details += ["%s: %s" % (key, error) for error in errors]
    if details:
        raise Invalid(400, "invalid changes", details)


class Snapshot:
    """A whole inventory ({key: fields}) read like IAdmin (get, hashes): for imports."""

    def __init__(self, data: dict[str, dict[str, str]]):
        self.data = data

    def get(self, key):
        found = self.data.get(key)
        return defer.succeed(dict(found) if found else None)

    def hashes(self, prefix):
        return defer.succeed({k: dict(v) for k, v in self.data.items()
                              if k.startswith(prefix) and v})


class _Reader:
    """The store's reads, each made once per check."""

    def __init__(self, store):
        self.store = store
        self.cache = {}
        if hasattr(store, "group_users"):
            self.group_users = store.group_users

    async def get(self, key):
        if key not in self.cache:
            self.cache[key] = await self.store.get(key)
        return self.cache[key]

    async def hashes(self, prefix):
        if ("hashes", prefix) not in self.cache:
            self.cache[("hashes", prefix)] = await self.store.hashes(prefix)
        return self.cache[("hashes", prefix)]


async def _added_errors(reader, key, before, after, link) -> list[str]:
    check = _PROBLEMS.get(key if key == "pool" else key.split(":", 1)[0] + ":")
    if check is None:
        return []
    found = await check(reader, key, after, link)
    known = set(await check(reader, key, before, link)) if before else set()
    return [problem for problem in found if problem not in known]


async def _conflicts(reader, key, before, after) -> list[tuple[str, str]]:
    """(error, message) for each address the write newly claims that another host holds."""
    if key == "pool":
        added = [ip for ip in after if ip not in (before or {})]
        return [(RESERVED, "%s is reserved by %s" % (ip, other))
                for ip in added for other, dynamic in await _holders(reader, ip) if not dynamic]
    if not key.startswith(HOST_PREFIXES):
        return []
    ip = Host(key, after).reserved_ip
    if not ip or ip == Host(key, before or {}).reserved_ip:
        return []
    found = []
    for other, dynamic in await _holders(reader, ip):
        if other == key:
            continue
        found.append((LEASED, "ip %s is already leased by %s" % (ip, other)) if dynamic else
                     (RESERVED, "ip %s is already reserved by %s" % (ip, other)))
    return sorted(found, key=lambda item: item[0] != RESERVED)


async def _holders(reader, ip):
    """[(host key, dynamic)] of the hosts holding `ip`: the store's `holders` where it has
    them, else a scan of all host hashes (once a check)."""
    if hasattr(reader.store, "holders"):
        return await reader.store.holders(ip)
    if "holders" not in reader.cache:
        holders = {}
        for prefix in HOST_PREFIXES:
            for other, fields in sorted((await reader.hashes(prefix)).items()):
                host = Host(other, fields)
                if host.ip:
                    holders.setdefault(host.ip, []).append((other, host.dynamic))
        reader.cache["holders"] = holders
    return reader.cache["holders"].get(ip, ())


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
    default = await reader.get("group:default") or {}
    group = default if name == "default" else await reader.get("group:" + name)
    if group is None:
        if view.get("group"):
            errors.append("group:%s does not exist" % name)
        name, group = "default", default
    merged = dict(default)
    if name != "default":
        merged.update(group)
    merged["range"] = ""
    profile = build_profile(key, merged, link or NO_LINK, host_fields=view)
    errors += _own_errors(key, profile, build_profile(key, merged, link or NO_LINK))
    if "ip" in view:
        errors += await _address_errors(reader, view["ip"], profile.network, name, link)
    return errors


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
        match = allocation.longest_match(ip, [k[7:] for k in await reader.hashes("subnet:")])
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
    default = {} if key == "group:default" else (await reader.get("group:default") or {})
    merged = dict(default)
    merged.update(fields)
    merged["range"] = fields.get("range", "")
    profile = build_profile(key, merged, link or NO_LINK)
    base = build_profile(key, dict(default, range=""), link or NO_LINK)
    return errors + _own_errors(key, profile, base) + _ranges_outside(profile)


async def _subnet_problems(reader, key, fields, link) -> list[str]:
    errors = ["ip: a field of hosts, not of subnets"] if "ip" in fields else []
    if fields.get("group"):
        name = group_name(fields["group"])
        if await reader.get("group:" + name) is None:
            errors.append("group:%s does not exist" % name)
    try:
        network = ipaddress.IPv4Network(key[7:])
    except ValueError as e:
        return errors + ["%s is not a network: %s" % (key, e)]
    default = await reader.get("group:default") or {}
    merged = dict(default)
    merged.update(fields)
    merged["range"] = fields.get("range", "")
    profile = build_profile(key, merged, link or NO_LINK, network=network)
    base = build_profile(key, dict(default, range=""), link or NO_LINK, network=network)
    return errors + _own_errors(key, profile, base) + _ranges_outside(profile)


async def _pool_problems(reader, key, fields, link) -> list[str]:
    errors = []
    for ip, owner in fields.items():
        errors += _pool_entry_errors(ip, owner)
    return errors


def _pool_entry_errors(ip, owner) -> list[str]:
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


# ---------------------------------------------------------------------------------------------
# warnings: valid, but not what the operator meant

def gateway_warnings(groups: dict[str, dict[str, str]],
                     subnets: dict[str, dict[str, str]]) -> list[str]:
    """One line for each group ({"group:<name>": fields}) whose gateway (with its mask and
    routes) lies on none of the subnets ({"subnet:<net>": fields}) it serves: there the
    server sends each subnet's own router instead (inventory.off_network). A group serves a
    subnet whose `group` names it (`pool` when none does, `default` when the named group does
    not exist); group:default serves every subnet (reserved hosts without a group). A group
    no subnet names, or an inventory without subnets, gets no warning."""
    from apidhcpd.dhcp4.profile import network_bound, off_network
    from apidhcpd.store.contract import group_of
    warnings = []
    for key in sorted(groups):
        fields = groups[key]
        if not any(network_bound(field) for field in fields):
            continue
        served = []
        for subnet in sorted(subnets):
            name = group_of(None, subnets[subnet], lambda name: "group:" + name in groups)
            if key in ("group:" + name, "group:default"):
                try:
                    served.append(ipaddress.IPv4Network(subnet[7:]))
                except ValueError:
                    continue
        reasons = [off_network(fields, network) for network in served]
        if served and all(reasons):
            warnings.append("%s: %s; it is on none of the subnets the group serves (%s), "
                            "whose clients are sent their subnet's own router, mask and routes"
                            % (key, reasons[0], ", ".join(map(str, served))))
    return warnings


async def network_warnings(store) -> list[str]:
    """gateway_warnings() of the inventory in `store` (reads every group: and subnet: hash):
    for the API and the CLI to show after a group or subnet write."""
    return gateway_warnings(await store.hashes("group:"), await store.hashes("subnet:"))


_PROBLEMS = dict.fromkeys(HOST_PREFIXES, _host_problems)
_PROBLEMS.update({"group:": _group_problems, "subnet:": _subnet_problems,
                  "pool": _pool_problems})
