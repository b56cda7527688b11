"""A lease of either family as the API and `apidhcpd-cli --json show leases` print it, and the
filters a listing applies to such entries.

Knows the two lease values of the store contract (contract.Lease, contract6.Lease6Record) and
the JSON object each becomes, with `family` (4 or 6) telling them apart. Knows nothing of
HTTP or of paging.
"""

import ipaddress
from collections.abc import Callable

from apidhcpd.admin.inputs import Invalid, duid_key, normalise_mac

FAMILIES = (4, 6)
STATES = ("offered", "bound", "declined")

Entry = dict  # a lease as JSON
Test = Callable[[Entry], bool]


def lease_json(lease) -> Entry:
    """A DHCPv4 lease: {family, ip, mac, state, expires, relay}."""
    return {"family": 4, "ip": lease.ip, "mac": lease.mac, "state": lease.state,
            "expires": lease.expires, "relay": lease.relay}


def lease6_json(record) -> Entry:
    """A DHCPv6 lease: {family, ip (the address, or the prefix with its length), kind (na,
    pd), duid, iaid (null for a declined value), mac ("" when unknown), state, expires,
    pool ("" for a reservation)}."""
    return {"family": 6, "ip": record.value, "kind": record.kind, "duid": record.duid,
            "iaid": record.iaid, "mac": record.mac, "state": record.state,
            "expires": record.expires, "pool": record.pool}


def families(text: str | None) -> tuple[int, ...]:
    """`family=4|6` (None: both)."""
    if text is None:
        return FAMILIES
    if text not in ("4", "6"):
        raise Invalid(400, "bad family", ["family is 4 or 6 (without it: both)"])
    return (int(text),)


def filters(args: dict[str, str]) -> list[Test]:
    """The tests of `subnet=` (an IPv4 network holds DHCPv4 leases, an IPv6 one DHCPv6
    addresses and prefixes), `state=`, `mac=` and `duid=` (DHCPv6 leases only)."""
    tests: list[Test] = []
    if "subnet" in args:
        try:
            network = ipaddress.ip_network(args["subnet"], strict=False)
        except ValueError as e:
            raise Invalid(400, "bad subnet", [str(e)]) from e
        tests.append(lambda entry: _inside(entry, network))
    if "state" in args:
        if args["state"] not in STATES:
            raise Invalid(400, "bad state", ["state is one of " + ", ".join(STATES)])
        tests.append(lambda entry: entry["state"] == args["state"])
    if "mac" in args:
        mac = normalise_mac(args["mac"])
        tests.append(lambda entry: entry["mac"] == mac)
    if "duid" in args:
        duid = duid_key(args["duid"]).split(":", 1)[1]
        tests.append(lambda entry: entry.get("duid") == duid)
    return tests


def _inside(entry: Entry, network) -> bool:
    try:
        value = ipaddress.ip_network(entry["ip"])
    except ValueError:
        return False
    return value.version == network.version and value.subnet_of(network)
