"""What the inventory's fields mean: group and host hashes -> the options a client is sent.

Knows the seed's field names (`gateway`, `dns`, `domain`, `ntp`, `prefix`, `netmask`,
`broadcast`, `lease-time`, `hostname`), ours (`range`, `routes`, `search`, `mtu`, `option-<name>`),
the boot fields (`next-server`, `boot-file`, `server-name`, `pxe-*`, read by boot.py),
`vivso` (option 125, read by vendor.py), and how to read them leniently: bad values are
skipped with a warning, never a crash. Knows which fields belong to one network (router,
mask, broadcast, routes, MTU) and whether a hash's values of them belong to a given subnet
(off_network).
Leaves the DHCPv6 fields of the same hashes alone (inventory/fields6.py): they are no DHCPv4
options and no unknown fields either. Knows nothing of storage or packets; option encodings
come from `options.py`.
"""

import ipaddress
import socket
from collections.abc import Callable, Mapping, Sequence

import attr

from apidhcpd.dhcp4 import options, vendor
from apidhcpd.dhcp4.boot import FIELDS as BOOT_FIELDS
from apidhcpd.dhcp4.boot import NO_BOOT, Boot, read_boot
from apidhcpd.dhcp4.message import ZERO
from apidhcpd.dhcp4.options import OptionCode as Code
from apidhcpd.inventory import allocation
from apidhcpd.inventory.durations import DEFAULT_LEASE_TIME, parse_duration
from apidhcpd.inventory.fields6 import is_field6

# fields that describe the host or the pool rather than an option
NOT_OPTIONS = frozenset({"ip", "description", "group", "ts", "dynamic", "range", "prefix",
                         "netmask", "broadcast", "lease-time", "gateway", "domain", "routes",
                         vendor.FIELD, *BOOT_FIELDS})

# a host's fields that say nothing about the options it is sent
HOST_ONLY = frozenset({"ip", "description", "group", "ts", "dynamic", "range"})

# simple seed-style fields: name -> option code, value written as the option's text form
SIMPLE_FIELDS = {"dns": Code.DOMAIN_NAME_SERVER, "ntp": Code.NTP_SERVERS,
                 "hostname": Code.HOST_NAME, "search": Code.DOMAIN_SEARCH,
                 "mtu": Code.INTERFACE_MTU, "time-offset": Code.TIME_OFFSET,
                 "tftp-server": Code.TFTP_SERVER_NAME, "bootfile": Code.BOOTFILE_NAME,
                 "wpad": Code.WPAD, "root-path": Code.ROOT_PATH,
                 "netbios-servers": Code.NETBIOS_NAME_SERVERS}

# what describes one network, and is wrong on any other: mask (1), router (3), MTU (26),
# broadcast address (28), static routes (33, 121, 249); the fields that give them
NETWORK_OPTIONS = frozenset({Code.SUBNET_MASK, Code.ROUTER, Code.INTERFACE_MTU,
                             Code.BROADCAST_ADDRESS, Code.STATIC_ROUTE,
                             Code.CLASSLESS_STATIC_ROUTE, Code.MS_CLASSLESS_STATIC_ROUTE})
DEFAULT_ROUTE = ZERO + "/0"
NETWORK_FIELDS = frozenset({"gateway", "prefix", "netmask", "broadcast", "routes", "mtu"})


def _split(text: str) -> list[str]:
    return [part.strip() for part in str(text).split(",") if part.strip()]


def parse_option_text(option: options.Option, text: str) -> options.OptionValue:
    """An option's value from its text form in the inventory (comma lists, numbers, names)."""
    kind = option.type
    if kind is options.IPList:
        return parse_routers(text)
    if kind is options.IP:
        return str(ipaddress.IPv4Address(text.strip()))
    if kind in (options.U8, options.U16, options.U32, options.S32, options.Bool):
        return int(text, 0)
    if kind is options.DomainList:
        return [name.rstrip(".") for name in _split(text)]
    if kind is options.ClasslessRoutes:
        return parse_routes(text)
    if kind in (options.Bytes, options.ClientID, options.ByteList):
        raw = bytes.fromhex(text.replace(":", "").replace("0x", ""))
        return list(raw) if kind is options.ByteList else raw
    if kind is options.Text:
        return text
    raise ValueError("option %s cannot be set from text" % option.name)


def parse_routers(text: str) -> list[str]:
    """`192.0.2.1, 192.0.2.2` -> the addresses (an address list option's text form)."""
    return [str(ipaddress.IPv4Address(a)) for a in _split(text)]


def parse_routes(text: str) -> list[options.Route]:
    """`10.0.0.0/8 192.0.2.1, 0.0.0.0/0 192.0.2.254` -> [(network, router), ...]."""
    routes = []
    for part in _split(text):
        network, _, router = part.replace(" via ", " ").partition(" ")
        routes.append((str(ipaddress.IPv4Network(network.strip())),
                       str(ipaddress.IPv4Address(router.strip()))))
    return routes


def _is_netmask(text: str) -> bool:
    try:
        ipaddress.IPv4Network(ZERO + "/" + text)
    except ValueError:
        return False
    return text != "255.255.255.255"


@attr.s(frozen=True, slots=True)
class Link:
    """The network a request arrived on: the server's own address there and its subnet."""

    address: str = attr.ib()
    network: ipaddress.IPv4Network = attr.ib()


@attr.s(frozen=True, slots=True)
class Profile:
    """What a group (or a group plus a host) tells the server to send, parsed once."""

    lease_time: int = attr.ib()
    network: ipaddress.IPv4Network = attr.ib()
    options: dict[int, bytes] = attr.ib()  # encoded values, in send order
    ranges: tuple[tuple[int, int], ...] = attr.ib(default=())
    errors: tuple[str, ...] = attr.ib(default=())  # values that were skipped
    notes: tuple[str, ...] = attr.ib(default=())  # values accepted with a correction
    boot: Boot = attr.ib(default=NO_BOOT)  # siaddr, file, sname, PXE option 43

    @property
    def warnings(self) -> tuple[str, ...]:
        """Everything worth one line in the log."""
        return self.errors + self.notes

    def holds(self, ip: str) -> bool:
        """Is `ip` an address on this profile's network? False for one that does not parse."""
        try:  # inet_pton, unlike inet_aton, takes only the four-part dotted form
            value = int.from_bytes(socket.inet_pton(socket.AF_INET, ip), "big")
        except (OSError, TypeError):
            return False
        return value & int(self.network.netmask) == int(self.network.network_address)


def build_profile(name: str, fields: dict[str, str], link: Link,
                  host_fields: dict[str, str] | None = None,
                  network: ipaddress.IPv4Network | None = None,
                  notes: Sequence[str] = ()) -> Profile:
    """Read a group's fields (already merged over group:default and the subnet's) and a
    host's overrides. `network` is the request's subnet when a `subnet:` key placed it: the
    mask and broadcast address sent are then always its own. `notes`: the caller's, kept."""
    errors, notes = [], list(notes)
    fixed = network is not None
    values = dict(fields)
    if host_fields:
        values.update({k: v for k, v in host_fields.items() if k not in HOST_ONLY})

    def warn(message: str) -> None:
        errors.append("group %s: %s" % (name, message))

    def note(message: str) -> None:
        notes.append("group %s: %s" % (name, message))

    lease_time = DEFAULT_LEASE_TIME
    if values.get("lease-time"):
        try:
            lease_time = parse_duration(values["lease-time"])
        except ValueError as e:
            warn("%s; using %ds" % (e, lease_time))

    network = _network(values, link, warn, note, network)
    encoded: dict[int, bytes] = {
        Code.SUBNET_MASK: options.encode_option(Code.SUBNET_MASK, str(network.netmask))}

    def put(code: int, value: object) -> None:
        try:
            encoded[code] = options.encode_option(code, value)
        except (options.OptionError, ValueError) as e:
            warn("option %d: %s" % (code, e))

    gateways: list[str] = []
    if values.get("gateway"):
        try:
            gateways = parse_routers(values["gateway"])
            put(Code.ROUTER, gateways)
        except ValueError as e:
            warn("gateway: %s" % e)
    put(Code.BROADCAST_ADDRESS, str(network.broadcast_address))
    if values.get("domain"):
        domains = [d.rstrip(".") for d in _split(values["domain"])]
        put(Code.DOMAIN_NAME, domains[0])
        if len(domains) > 1:
            put(Code.DOMAIN_SEARCH, domains)
    if values.get("routes"):
        try:
            routes = parse_routes(values["routes"])
            if gateways and not any(net == DEFAULT_ROUTE for net, _ in routes):
                routes.append((DEFAULT_ROUTE, gateways[0]))  # RFC 3442: 121 hides option 3
            put(Code.CLASSLESS_STATIC_ROUTE, routes)
        except ValueError as e:
            warn("routes: %s" % e)
    if values.get(vendor.FIELD):  # before the option-<x> fields: a raw option-125 wins
        try:
            put(Code.VENDOR_IDENTIFYING, vendor.from_text(values[vendor.FIELD]))
        except ValueError as e:
            warn("%s: %s" % (vendor.FIELD, e))

    for field, text in sorted(values.items()):
        if field in NOT_OPTIONS or text == "" or is_field6(field):
            continue  # (a DHCPv6 field is the other family's: inventory/fields6.py)
        option = _option_for_field(field)
        if option is None:
            warn("unknown field %r ignored" % field)
            continue
        if fixed and option.code in (Code.SUBNET_MASK, Code.BROADCAST_ADDRESS):
            note("%s ignored: the subnet %s gives the %s" % (
                field, network,
                "mask" if option.code == Code.SUBNET_MASK else "broadcast address"))
            continue
        try:
            put(option.code, parse_option_text(option, text))
        except (ValueError, options.OptionError) as e:
            warn("%s: %s" % (field, e))

    ranges: tuple[allocation.Range, ...] = ()
    if fields.get("range"):
        try:
            ranges = allocation.parse_ranges(fields["range"])
        except ValueError as e:
            warn("range: %s" % e)
    found = read_boot(values, warn)
    return Profile(lease_time, network, encoded, ranges, tuple(errors), tuple(notes), found)


# the options build_profile makes of these fields, before the others (in this order)
_FIRST_FIELDS = {"gateway": (Code.ROUTER,), "domain": (Code.DOMAIN_NAME, Code.DOMAIN_SEARCH),
                 "routes": (Code.CLASSLESS_STATIC_ROUTE,),
                 vendor.FIELD: (Code.VENDOR_IDENTIFYING,)}


def option_fields(fields: Mapping[str, str]) -> dict[int, str]:
    """{option code: the field that gives it} for the options that `fields` (merged, as
    build_profile reads them) give; where several fields give one option, the one
    build_profile lets win. The mask and the broadcast address (always sent, from the
    network) only where a field gives them as an option; the PXE fields' option 43 is
    boot.py's."""
    given: dict[int, str] = {}
    for field, codes in _FIRST_FIELDS.items():
        if fields.get(field):
            given.update(dict.fromkeys(codes, field))
    for field, text in sorted(fields.items()):
        if field in NOT_OPTIONS or text == "":
            continue
        option = _option_for_field(field)
        if option is not None:
            given[option.code] = field
    return given


def network_bound(field: str) -> bool:
    """Does this field give a value that belongs to one network (NETWORK_OPTIONS)?"""
    if field in NETWORK_FIELDS:
        return True
    if not field.startswith("option-"):
        return False
    option = _option_for_field(field)
    return option is not None and option.code in NETWORK_OPTIONS


def without_network(fields: dict[str, str]) -> dict[str, str]:
    """The hash without its network-bound fields."""
    return {k: v for k, v in fields.items() if not network_bound(k)}


def off_network(fields: dict[str, str], network: ipaddress.IPv4Network) -> str | None:
    """Why the network-bound fields of a hash (a group's, group:default's, a host's) do not
    belong on `network`, or None when they do (or it has none). They belong when every router
    it names (`gateway`, option 3, the routers of its static routes; 0.0.0.0, on-link, is
    fine) lies in `network`, and every mask it gives (`prefix`, `netmask`, option 1, the
    seed's netmask in `broadcast`) is the network's. A value that does not parse does not."""
    routers: list[tuple[str, str]] = []  # (field, text of one address)
    masks: list[tuple[str, str]] = []
    for field, text in fields.items():
        if not text or not network_bound(field):
            continue
        text = str(text).strip()
        code = _network_code(field)
        try:
            if code == Code.ROUTER:
                routers += [(field, a) for a in _split(text)]
            elif code in (Code.CLASSLESS_STATIC_ROUTE, Code.MS_CLASSLESS_STATIC_ROUTE):
                routers += [(field, r) for _, r in parse_routes(text) if r != ZERO]
            elif code == Code.STATIC_ROUTE:
                raw = bytes.fromhex(text.replace(":", "").replace("0x", ""))
                if len(raw) % 8:
                    return "%s %r is not a list of address pairs" % (field, text)
                routers += [(field, socket.inet_ntoa(raw[i + 4:i + 8]))
                            for i in range(0, len(raw), 8)]
        except ValueError:
            return "%s %r does not parse" % (field, text)
        if field in ("prefix", "netmask") or code == Code.SUBNET_MASK:
            masks.append((field, text.lstrip("/")))
        elif field == "broadcast" and _is_netmask(text):
            masks.append((field, text))  # the seed's netmask in `broadcast`
    for field, text in routers:
        try:
            if ipaddress.IPv4Address(text) not in network:
                return "%s %s is not on %s" % (field, text, network)
        except ValueError:
            return "%s %r is not an address" % (field, text)
    for field, text in masks:
        try:
            length = ipaddress.IPv4Network(ZERO + "/" + text).prefixlen
        except ValueError:
            return "%s %r is not a mask" % (field, text)
        if length != network.prefixlen:
            return "%s %s is not the mask of %s" % (field, text, network)
    return None


def _network_code(field: str) -> int | None:
    """The option a network-bound field gives: `gateway` 3, `routes` 121, `option-<x>` its
    code; None for the other NETWORK_FIELDS (masks and the broadcast address)."""
    if field == "gateway":
        return Code.ROUTER
    if field == "routes":
        return Code.CLASSLESS_STATIC_ROUTE
    if field in NETWORK_FIELDS:
        return None
    option = _option_for_field(field)
    return None if option is None else option.code


def _option_for_field(field: str) -> options.Option | None:
    if field in SIMPLE_FIELDS:
        return options.OPTIONS[SIMPLE_FIELDS[field]]
    if field.startswith("option-"):
        key = field[7:]
        try:
            return options.OPTIONS.get(int(key)) or options.Option(int(key), key,
                                                                   options.Bytes)
        except ValueError:
            try:
                return options.by_name(key)
            except options.OptionError:
                return None
    return None


def mask_field(values: Mapping[str, str]) -> str | None:
    """The field that gives the network's mask where no subnet fixes it, as _network reads
    it: `prefix`, else `netmask`, else the seed's netmask in `broadcast`; None: the link's."""
    for field in ("prefix", "netmask"):
        if values.get(field):
            return field
    broadcast = (values.get("broadcast") or "").strip()
    try:
        ipaddress.IPv4Address(broadcast)
    except ValueError:
        return None
    return "broadcast" if _is_netmask(broadcast) else None


def _network(values: dict[str, str], link: Link, warn: Callable[[str], None],
             note: Callable[[str], None],
             fixed: ipaddress.IPv4Network | None = None) -> ipaddress.IPv4Network:
    """The subnet: `fixed` if given, else the group's gateway + prefix/netmask (accepting the
    seed's netmask-in-broadcast), else the link's."""
    broadcast = (values.get("broadcast") or "").strip()
    if broadcast:
        try:
            ipaddress.IPv4Address(broadcast)
        except ValueError:
            warn("broadcast %r is not an address" % broadcast)
            broadcast = ""
    if fixed is not None:
        if broadcast and broadcast != str(fixed.broadcast_address):
            note("broadcast %s is not the broadcast address of %s; sending %s" % (
                broadcast, fixed, fixed.broadcast_address))
        return fixed
    mask = None
    if values.get("prefix"):
        mask = values["prefix"].strip().lstrip("/")
    elif values.get("netmask"):
        mask = values["netmask"].strip()
    if mask is None and broadcast and _is_netmask(broadcast):
        mask = broadcast
    anchor = (values.get("gateway") or "").split(",")[0].strip() or link.address
    network = link.network
    if mask is not None:
        try:
            network = ipaddress.IPv4Network("%s/%s" % (anchor, mask), strict=False)
        except ValueError as e:
            warn("bad netmask/prefix %r (%s); using the link's %s" % (mask, e, link.network))
    if broadcast and broadcast != str(network.broadcast_address):
        note("broadcast %s is not the broadcast address of %s%s; sending %s" % (
            broadcast, network, " (it looks like a netmask)" if _is_netmask(broadcast) else "",
            network.broadcast_address))
    return network
