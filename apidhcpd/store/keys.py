"""The names of what is stored: key prefixes, fixed keys and the constructors that build keys.

The seed's names (`mac:`, `client:`, `group:`, `subnet:`, `pool`) and ours. The Lua scripts in
`lua/` spell the same names (common.lua); docs/redis.md describes every key. Knows nothing of
what the values mean.
"""

# a host: the hash of one client, by what identifies it
MAC = "mac:"          # mac:<aa:bb:cc:dd:ee:ff>
CLIENT = "client:"    # client:<client identifier, as the seed writes it>
RELAY = "relay:"      # relay:<circuit-id> (option 82.1)
REMOTE = "remote:"    # remote:<remote-id> (option 82.2)
HOST_PREFIXES = (MAC, CLIENT, RELAY, REMOTE)
DUID = "duid:"        # duid:<DUID as lower-case hex>, a host by its DHCPv6 DUID
HOST_PREFIXES6 = (DUID, *HOST_PREFIXES)  # the keys whose `ip6`/`prefix6` are reservations

# options and addressing for many hosts
GROUP = "group:"      # group:<name>
SUBNET = "subnet:"    # subnet:<network>/<prefix>
DEFAULT_GROUP = GROUP + "default"
CLASS = "class:"      # class:<name>, a client class (matched on what the client says)
CLASSES = "classes"   # set of the names of the class: keys (kept by put.lua)
SUBNET6 = "subnet6:"  # subnet6:<network>/<prefix>, in RFC 5952 form
SUBNETS6 = "subnets6"  # zset: the subnet6: networks -> their prefix length (kept by put.lua)

# the server's own records
LEASE = "lease:"      # lease:<ip>, the lease record of one address
OFFER = "offer:"      # offer:<mac>, the address held for its offer
FREE = "free:"        # free:<pool key>, the free list of a pool (and free:<pool key>:fill)
LEASES = "leases"     # zset of addresses by lease expiry
DECLINED = "declined"  # zset of declined addresses by end of probation
RESERVED = "reserved"  # set of reserved addresses (and reserved:changes/version/rebuild)
SEED_POOL = "pool"    # the seed's hash of dynamic addresses: ip -> owner mac
# the server's DHCPv6 records (docs/redis.md, "DHCPv6")
LEASE6 = "lease6:"    # lease6:<address or prefix>, the lease record of one value
LEASES6 = "leases6"   # zset of values by lease expiry
IA6 = "ia6:"          # ia6:<duid>, hash: <kind>:<iaid> -> the IA's value
FREE6 = "free6:"      # free6:<pool>, zset of values given back, by when
CURSOR6 = "cursor6:"  # cursor6:<pool>, hash: ranges, next (the pool's next position)
RESERVED6 = "reserved6"  # set of reserved IPv6 values (and reserved6:changes/version)
SERVER6 = "server6:"  # server6:<name>, a server's DUID (hex)
INVENTORY_CHANNEL = "apidhcpd:inventory"  # pub/sub: keys written, for caches

# the description the server writes on the record of a dynamic client (the seed's)
DYNAMIC_DESCRIPTION = "dynamic:"


def mac(address: str) -> str:
    return MAC + address


def client(client_id: str) -> str:
    return CLIENT + client_id


def group(name: str) -> str:
    return GROUP + name


def client_class(name: str) -> str:
    return CLASS + name


def subnet(network: str) -> str:
    return SUBNET + network


def lease(ip: str) -> str:
    return LEASE + ip


def duid(hex_duid: str) -> str:
    return DUID + hex_duid


def subnet6(network: str) -> str:
    return SUBNET6 + network


def network6(subnet6_key: str) -> str:
    """subnet6:<network>/<prefix> -> <network>/<prefix>"""
    return subnet6_key[len(SUBNET6):]


def lease6(value: str) -> str:
    return LEASE6 + value


def is_host(key: str) -> bool:
    return key.startswith(HOST_PREFIXES)


def relay(circuit_id: str) -> str:
    return RELAY + circuit_id


def remote(remote_id: str) -> str:
    return REMOTE + remote_id


def id_text(value: bytes) -> str:
    """A relay's circuit-id, remote-id or interface-id as written in a `relay:`/`remote:`
    key: printable ASCII as it is, anything else as lower-case hex."""
    if value and all(0x21 <= b < 0x7F for b in value):
        return value.decode("ascii")
    return value.hex()


def network(subnet_key: str) -> str:
    """subnet:<network>/<prefix> -> <network>/<prefix>"""
    return subnet_key[len(SUBNET):]


def group_name(text: str) -> str:
    """A `group` field's value as a group's name: `group:lab` and `lab` both name group lab."""
    return text[len(GROUP):] if text.startswith(GROUP) else text
