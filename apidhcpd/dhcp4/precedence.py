"""The one precedence rule of the inventory (docs/redis.md, the table under `subnet:`): which
layer's fields a client gets, and which layer gave each of them.

Knows the layers' order (group:default < the subnet < the host's group < the matched classes,
lowest priority first < the host), which of a layer's network-bound fields count on the
request's subnet (profile.off_network), and whose the dynamic `range` is: the winning class's
with a range on the subnet, else the subnet's, else the group's (inventory/rules.py).
GroupOptions (handlers.py) builds the served Profile from `merge()`, and explain.py reports the
sources from the same `merge()`, so the two can never disagree. Pure: no I/O.
"""

import ipaddress
from collections.abc import Mapping

import attr

from apidhcpd.dhcp4.profile import (
    HOST_ONLY,
    Link,
    Profile,
    build_profile,
    network_bound,
    off_network,
    without_network,
)
from apidhcpd.inventory import classes as client_classes
from apidhcpd.inventory.allocation import int_to_ip
from apidhcpd.store import keys
from apidhcpd.store.contract import NO_FIELDS, Lookup


@attr.s(frozen=True, slots=True)
class Merged:
    """The merged fields of one request, each with the layer that gave it (`group:default`,
    `subnet:<net>`, `group:<name>`, `class:<name>` or the host's key)."""

    name: str = attr.ib()  # the profile's name in warnings: the group (and subnet)
    network: ipaddress.IPv4Network | None = attr.ib()  # the subnet's, when one placed it
    fields: dict[str, str] = attr.ib()
    sources: dict[str, str] = attr.ib()
    notes: tuple[str, ...] = attr.ib(default=())


def merge(lookup: Lookup, host_fields: Mapping[str, str],
          matched: tuple[client_classes.Class, ...] = ()) -> Merged:
    """group:default, under the subnet's fields, under the group's, under the matched
    classes' (lowest priority first), under the host's (its HOST_ONLY fields are no options).
    Dynamic ranges come from the winning class with a range on the subnet, else the subnet
    if one matched, else the group itself (rules.address_source). On a
    subnet, the router, mask, broadcast, routes and MTU of group:default, the group, a class
    and the host count only where they belong to that subnet (off_network): a group written
    for the server's own LAN must not send a relayed client its router."""
    name = lookup.group_name
    network, notes = None, []
    if lookup.subnet:
        name = "%s (subnet %s)" % (name, lookup.subnet)
        try:
            network = ipaddress.IPv4Network(lookup.subnet)
        except ValueError:
            network = None

    def local(label: str, fields: Mapping[str, str],
              over: Mapping[str, str] = NO_FIELDS) -> Mapping[str, str]:
        why = off_network(dict(fields), network) if network is not None and fields else None
        if why is None:
            return fields
        lost = sorted(k for k in fields if network_bound(k) and k not in over
                      and k not in ("prefix", "netmask", "broadcast"))  # the subnet's
        if lost:
            notes.append("group %s: %s: %s, so its %s %s not sent there" % (
                name, label, why, ", ".join(lost), "is" if len(lost) == 1 else "are"))
        return without_network(dict(fields))

    group = keys.group(lookup.group_name)
    layers: list[tuple[str, Mapping[str, str]]] = [
        (keys.DEFAULT_GROUP,
         local(keys.DEFAULT_GROUP, lookup.default_fields, lookup.subnet_fields))]
    if lookup.subnet:
        layers.append((keys.subnet(lookup.subnet), lookup.subnet_fields))
    if group != keys.DEFAULT_GROUP:
        layers.append((group, local(group, lookup.group_fields)))
    for class_name, class_fields in matched:
        label = keys.client_class(class_name)
        layers.append((label, local(label, client_classes.without_matching(class_fields))))
    fields: dict[str, str] = {}
    sources: dict[str, str] = {}
    for label, layer in layers:
        fields.update(layer)
        sources.update(dict.fromkeys(layer, label))
    by_class = [(name, client_classes.range_on(class_fields, lookup.subnet))
                for name, class_fields in matched]
    winner = next(((name, ranges) for name, ranges in reversed(by_class) if ranges), None)
    if winner is not None:
        fields["range"] = ",".join("%s-%s" % (int_to_ip(start), int_to_ip(end))
                                   for start, end in winner[1])
        sources["range"] = keys.client_class(winner[0])
    else:
        owner = (keys.subnet(lookup.subnet), lookup.subnet_fields) if lookup.subnet \
            else (group, lookup.group_fields)
        fields["range"] = owner[1].get("range", "")
        sources["range"] = owner[0]
    if lookup.host is not None:
        own = local(lookup.host.key, {k: v for k, v in host_fields.items()
                                      if k not in HOST_ONLY})
        fields.update(own)
        sources.update(dict.fromkeys(own, lookup.host.key))
    return Merged(name, network, fields, sources, tuple(notes))


def profile_of(merged: Merged, link: Link) -> Profile:
    """The Profile the server sends from these merged fields (profile.build_profile)."""
    return build_profile(merged.name, merged.fields, link, network=merged.network,
                         notes=merged.notes)
