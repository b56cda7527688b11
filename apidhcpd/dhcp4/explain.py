"""`explain`: what the server would answer a hypothetical client, and why, without a write.

Knows how a question (MAC, options 60/77/93/61/12, giaddr, the relay's circuit and remote id)
becomes the request the server would see, and reads the inventory as the store's lookup does
but through reads only (IAdmin's get_many, subnet_of, hashes, lease_at, and IStore's
lease_holder): IStore.lookup writes `ts` and the `reserved` index, so it is never called.
The host keys and their order are lease.host_keys's, the subnet relay.selector's, the group
contract.group_of's, the classes classes.matched's, the merge precedence.merge's (the very
rule GroupOptions applies), the address source inventory/rules's, the options a reply carries
boot.py's (as Finish adds them: the named PXE option 43, the boot fields, option 60 back and
the default option 43 for a PXE client) and the reservation check LeaseAllocation's (a
reserved address another client's lease holds). Knows nothing of HTTP or the command line.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import attr
from twisted.internet.defer import Deferred

from apidhcpd.dhcp4 import classes as client_classes
from apidhcpd.dhcp4 import options as opt
from apidhcpd.dhcp4 import relay as relays
from apidhcpd.dhcp4 import vendor
from apidhcpd.dhcp4.addressing import on_link
from apidhcpd.dhcp4.boot import NO_BOOT, PXE_FIELDS, answer_vendor, offered, place
from apidhcpd.dhcp4.lease import host_keys
from apidhcpd.dhcp4.message import BOOTREPLY, ZERO, Message
from apidhcpd.dhcp4.precedence import Merged, merge, profile_of
from apidhcpd.dhcp4.profile import Link, Profile, mask_field, option_fields
from apidhcpd.inventory.allocation import int_to_ip
from apidhcpd.store import keys
from apidhcpd.store.contract import (
    Facts,
    Lease,
    Lookup,
    first_host,
    group_of,
    matched_classes,
    source_of,
)


class Reads(Protocol):
    """The IAdmin reads explain makes (store/contract.py); none of them writes."""

    def get_many(self, keys: Sequence[str]) -> Deferred[dict[str, dict[str, str]]]: ...
    def subnet_of(self, ip: str) -> Deferred[str | None]: ...
    def hashes(self, prefix: str) -> Deferred[dict[str, dict[str, str]]]: ...
    def lease_at(self, ip: str) -> Deferred[Lease | None]: ...
    def lease_holder(self, ip: str, now: int) -> Deferred[str | None]: ...


# where an option comes from when the server adds it (boot.answer_vendor), not the inventory
ECHO = "server: option 60 sent back (PXE, UEFI HTTP boot)"
PXE_DEFAULT = "server: PXE client without option 43 (discovery control 8: boot this file)"
LINK_LAYER = "link"  # the mask and broadcast address of the server's own network


@attr.s(frozen=True, slots=True)
class Query:
    """The hypothetical client, its values already checked (the API and the CLI do that)."""

    mac: str = attr.ib()  # aa:bb:cc:dd:ee:ff
    vendor_class: str | None = attr.ib(default=None)
    user_class: str | None = attr.ib(default=None)
    arches: tuple[int, ...] = attr.ib(default=())
    client_id: str | None = attr.ib(default=None)  # hex, type byte first
    hostname: str | None = attr.ib(default=None)
    giaddr: str | None = attr.ib(default=None)
    circuit_id: str | None = attr.ib(default=None)  # as relay: keys spell it
    remote_id: str | None = attr.ib(default=None)


@attr.s(frozen=True, slots=True)
class Explanation:
    host_keys: tuple[str, ...] = attr.ib()  # looked up in this order
    host: str | None = attr.ib()  # the key that matched
    selector: str = attr.ib()  # the address that places the request on a subnet
    subnet: str | None = attr.ib()
    group: str = attr.ib()
    classes: tuple[str, ...] = attr.ib()  # matched, in the order they apply (the last wins)
    fields: tuple[tuple[str, str, str], ...] = attr.ib()  # (field, value, layer)
    options: tuple[tuple[int, str, str, str], ...] = attr.ib()  # (code, name, text, source)
    warnings: tuple[str, ...] = attr.ib()
    boot: dict[str, str] = attr.ib()
    lease_time: int = attr.ib()
    address: dict[str, object] = attr.ib()
    dropped: str | None = attr.ib(default=None)  # why the server would not answer
    drop_kind: str | None = attr.ib(default=None)  # its counter: ("dropped", kind)

    def as_json(self) -> dict[str, object]:
        return {
            "host_keys": list(self.host_keys), "host": self.host, "selector": self.selector,
            "subnet": self.subnet, "group": self.group, "classes": list(self.classes),
            "fields": [{"field": f, "value": v, "source": s} for f, v, s in self.fields],
            "options": [{"code": c, "name": n, "value": t, "source": s}
                        for c, n, t, s in self.options],
            "warnings": list(self.warnings), "boot": self.boot, "lease_time": self.lease_time,
            "address": self.address, "dropped": self.dropped, "drop_kind": self.drop_kind}


def request_of(query: Query) -> tuple[Message, relays.RelayInfo]:
    """The DISCOVER this client would send, and what its relay would say."""
    request = Message(op=1, chaddr=bytes.fromhex(query.mac.replace(":", "")),
                      giaddr=query.giaddr or ZERO)
    request.set(opt.OptionCode.MESSAGE_TYPE, opt.DISCOVER)
    if query.client_id:
        request.set_raw(opt.OptionCode.CLIENT_ID, bytes.fromhex(query.client_id))
    if query.hostname:
        request.set_raw(opt.OptionCode.HOST_NAME, query.hostname.encode("utf-8"))
    if query.vendor_class is not None:
        request.set_raw(opt.OptionCode.VENDOR_CLASS_ID, query.vendor_class.encode("latin-1"))
    if query.user_class is not None:
        request.set_raw(opt.OptionCode.USER_CLASS, query.user_class.encode("latin-1"))
    if query.arches:
        request.set_raw(opt.OptionCode.CLIENT_ARCH,
                        b"".join(a.to_bytes(2, "big") for a in query.arches))
    relay = relays.NONE
    if query.giaddr:  # a relay's word counts only in a relayed request (relay.py)
        relay = relays.RelayInfo(
            circuit_id=query.circuit_id.encode("latin-1") if query.circuit_id else None,
            remote_id=query.remote_id.encode("latin-1") if query.remote_id else None)
    return request, relay


async def explain(store: Reads, query: Query, link: Link, now: int) -> Explanation:
    """Read what a lookup would read, then describe(): no allocation, no write."""
    request, relay = request_of(query)
    tried = host_keys(request, relay)
    selector = relays.selector(request, relay, link.address)
    subnet = await store.subnet_of(selector)
    subnet_key = [keys.subnet(subnet)] if subnet else []
    found = await store.get_many([*tried, *subnet_key])
    host = first_host(tried, found)
    subnet_fields = found.get(subnet_key[0], {}) if subnet_key else {}
    wanted = group_of(host, subnet_fields, lambda name: True)
    groups = await store.get_many(list(dict.fromkeys([keys.group(wanted),
                                                      keys.DEFAULT_GROUP])))
    name = group_of(host, subnet_fields, lambda n: keys.group(n) in groups)
    classes = await store.hashes(keys.CLASS)
    lookup = Lookup(host, name, groups.get(keys.group(name), {}),
                    groups.get(keys.DEFAULT_GROUP, {}), subnet if subnet_fields else None,
                    subnet_fields,
                    classes=tuple(sorted((k[len(keys.CLASS):], v) for k, v in classes.items())))
    lease = None
    record = found.get(keys.mac(query.mac), {})
    if (host is None or not host.reserved_ip) and record.get("dynamic") and record.get("ip"):
        lease = await store.lease_at(record["ip"])
    holder = await store.lease_holder(host.reserved_ip, now) \
        if host is not None and host.reserved_ip else None
    return describe(request, relay, lookup, link, lease, now, tuple(tried), selector, holder)


def describe(request: Message, relay: relays.RelayInfo, lookup: Lookup, link: Link,
             lease: Lease | None, now: int, tried: tuple[str, ...] = (),
             selector: str = ZERO, holder: str | None = None) -> Explanation:
    """The explanation of one lookup's result (pure): the classes matched, each merged field
    with its layer, the options of a reply with their origins, boot fields and warnings, and
    the address (`holder`: the client holding the lease on a reserved address, if any)."""
    host = lookup.host
    facts = client_classes.facts(request, relay)
    matched = matched_classes(lookup, facts)
    merged = merge(lookup, host.fields if host else {}, matched)
    profile = profile_of(merged, link)
    boot = profile.boot
    address, dropped, kind = _address(request, lookup, facts, profile.holds, lease, now,
                                      holder)
    if dropped is None and request.giaddr != ZERO and lookup.subnet is None \
            and not on_link(selector, link.network) and not profile.holds(selector):
        dropped, kind = "relayed for %s, on no subnet" % selector, "no-subnet"
    return Explanation(
        host_keys=tried, host=host.key if host else None, selector=selector,
        subnet=lookup.subnet, group=lookup.group_name,
        classes=tuple(name for name, _ in matched),
        fields=tuple((k, v, merged.sources[k]) for k, v in sorted(merged.fields.items())
                     if v != ""),
        options=_options(request, merged, profile, lookup.subnet), warnings=profile.warnings,
        boot={"next-server": boot.next_server,
              "boot-file": boot.file.decode("latin-1"),
              "server-name": boot.sname.decode("latin-1")},
        lease_time=profile.lease_time, address=address, dropped=dropped, drop_kind=kind)


def _options(request: Message, merged: Merged, profile: Profile,
             subnet: str | None) -> tuple[tuple[int, str, str, str], ...]:
    """(code, name, text, source) of each option a reply to `request` carries when it asks
    for every option: built as Finish builds it (boot.py), each with the layer of the field
    that gave it, or the server's reason for adding it."""
    boot = profile.boot
    reply = Message(op=BOOTREPLY, options=dict(offered(profile.options, boot, request)))
    if boot is not NO_BOOT:
        place(reply, boot)
    added = dict(zip(answer_vendor(reply, request), (ECHO, PXE_DEFAULT)))
    given = option_fields(merged.fields)
    network = keys.subnet(subnet) if merged.network is not None and subnet else None
    by_field: dict[int, str] = {  # boot.place: the header's fields as options, under overload
        opt.OptionCode.BOOTFILE_NAME: "boot-file", opt.OptionCode.TFTP_SERVER_NAME: "server-name"}
    found = []
    for code, raw in reply.options.items():
        if code in added:
            source = added[code]
        elif code in (opt.OptionCode.SUBNET_MASK, opt.OptionCode.BROADCAST_ADDRESS) \
                and (network or code not in given):
            source = network or _mask_source(merged)
        elif code in given:
            source = merged.sources[given[code]]
        elif code == opt.OptionCode.VENDOR_SPECIFIC:  # the named PXE fields (boot.offered)
            source = ", ".join(dict.fromkeys(merged.sources[field] for field in PXE_FIELDS
                                             if merged.fields.get(field)))
        else:
            source = merged.sources.get(by_field.get(code, ""), "")
        found.append((code, _name(code), _text(code, raw), source))
    return tuple(found)


def _mask_source(merged: Merged) -> str:
    """The layer whose mask (prefix, netmask, the seed's netmask in `broadcast`) gives the
    network; else the server's link."""
    field = mask_field(merged.fields)
    return LINK_LAYER if field is None else merged.sources[field]


def _address(request: Message, lookup: Lookup, facts: Facts, holds: Callable[[str], bool],
             lease: Lease | None, now: int, holder: str | None = None
             ) -> tuple[dict[str, object], str | None, str | None]:
    """The reservation (unless it is off the network or another client holds its address:
    why not, and the kind of drop, as LeaseAllocation says it); else the client's unexpired
    lease; else where a free address would come from (nothing is taken)."""
    host = lookup.host
    if host is not None and host.reserved_ip:
        ip = host.reserved_ip
        found: dict[str, object] = {"kind": "reserved", "ip": ip, "key": host.key}
        if not holds(ip):
            return found, "reserved address %s is not on the client's network" % ip, None
        if holder and holder != request.mac:
            return found, "reserved %s is leased to %s" % (ip, holder), "reserved-conflict"
        return found, None, None
    if lease is not None and lease.mac == request.mac and lease.expires > now \
            and lease.state in ("bound", "offered"):
        return {"kind": "lease", "ip": lease.ip, "state": lease.state,
                "expires": lease.expires}, None, None
    source = source_of(lookup, facts)
    return {"kind": "free", "source": source.name,
            "ranges": ["%s-%s" % (int_to_ip(first), int_to_ip(last))
                       for first, last in source.ranges],
            "seed_pool": source.seed_pool}, None, None


def _name(code: int) -> str:
    option = opt.OPTIONS.get(code)
    return option.name if option is not None else "option-%d" % code


def _text(code: int, raw: bytes) -> str:
    """An option's value in the inventory's text form (lists comma separated, unknown hex;
    option 125 as `vivso` writes it; option 60 as text where it is printable)."""
    if code == opt.OptionCode.VENDOR_IDENTIFYING:
        return vendor.text_of(raw)
    if code == opt.OptionCode.VENDOR_CLASS_ID and raw.isascii() and raw.decode().isprintable():
        return raw.decode()
    try:
        value = opt.decode_option(code, raw)
    except opt.OptionError:
        return raw.hex()
    return _plain(value)


def _plain(value: object) -> str:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (list, tuple)):
        return ", ".join(" ".join(map(str, item)) if isinstance(item, tuple) else str(item)
                         for item in value)
    return str(value)


def field_sources(explanation: Explanation) -> Mapping[str, str]:
    """{field: layer} of an explanation."""
    return {field: source for field, _, source in explanation.fields}
