"""Warnings about the inventory: valid, but not what the operator meant.

Knows where a group's gateway (with its mask and routes) must lie: on the subnets the group
serves, else their clients are sent each subnet's own router (dhcp4.profile.off_network). The
API shows them after a group or subnet write, the CLI after its edits; they block nothing.
"""

import ipaddress

from apidhcpd.dhcp4.profile import network_bound, off_network
from apidhcpd.store import keys
from apidhcpd.store.contract import group_of


def gateway_warnings(groups: dict[str, dict[str, str]],
                     subnets: dict[str, dict[str, str]]) -> list[str]:
    """One line for each group ({"group:<name>": fields}) whose gateway (with its mask and
    routes) lies on none of the subnets ({"subnet:<net>": fields}) it serves: there the
    server sends each subnet's own router instead (inventory.off_network). A group serves a
    subnet whose `group` names it (`pool` when none does, `default` when the named group does
    not exist); group:default serves every subnet (reserved hosts without a group). A group
    no subnet names, or an inventory without subnets, gets no warning."""
    warnings = []
    for key in sorted(groups):
        fields = groups[key]
        if not any(network_bound(field) for field in fields):
            continue
        served = []
        for subnet in sorted(subnets):
            name = group_of(None, subnets[subnet], lambda name: keys.group(name) in groups)
            if key in (keys.group(name), keys.DEFAULT_GROUP):
                try:
                    served.append(ipaddress.IPv4Network(subnet.removeprefix(keys.SUBNET)))
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
    return gateway_warnings(await store.hashes(keys.GROUP), await store.hashes(keys.SUBNET))
