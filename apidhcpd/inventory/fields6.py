"""The DHCPv6 fields of the inventory's hashes, by name: which fields are DHCPv6's, so that
the readers of each family (the DHCPv4 profile, the DHCPv6 profile, the admin's validation)
know which fields are the other family's and leave them alone (docs/redis.md, "DHCPv6").

Knows names only: what a value means is allocation6.py's (addresses, pools, lifetimes) and the
DHCPv6 option catalogue's. Fields both families read (`group`, `description`, `lease-time`,
`domain`, `search`) are in SHARED, not here.
"""

# a host's reservations (on mac:, client:, relay:, remote: and duid: keys)
HOST_FIELDS6 = frozenset({"ip6", "prefix6"})
# what only a subnet6: key holds (its `range` is a field of the same name as DHCPv4's)
SUBNET6_FIELDS = frozenset({"pd-pool"})
# durations of an IA and of an INFORMATION-REQUEST's answer (any layer)
DURATIONS6 = ("preferred-lifetime", "valid-lifetime", "t1", "t2", "information-refresh")
# options and switches of DHCPv6 answers (any layer)
PROFILE_FIELDS6 = frozenset({"dns6", "ntp6", "rapid-commit", *DURATIONS6})
OPTION6_PREFIX = "option6-"  # option6-<name or code>: any option of the dhcp6 catalogue
FIELDS6 = HOST_FIELDS6 | SUBNET6_FIELDS | PROFILE_FIELDS6
# read by both families (on any layer: `range` is each subnet key's own)
SHARED = frozenset({"group", "description", "lease-time", "domain", "search"})
YES, NO = ("yes", "on", "true", "1"), ("no", "off", "false", "0", "")  # `rapid-commit`


def is_field6(name: str) -> bool:
    """Is `name` a DHCPv6 field (one DHCPv4 never reads)?"""
    return name in FIELDS6 or name.startswith(OPTION6_PREFIX)
