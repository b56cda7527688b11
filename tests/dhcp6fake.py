"""STAND-IN, to be deleted when branch v6store (IStore6 on MemoryStore and RedisStore) is
merged: a small in-memory IStore6 (store/contract6.py) for the DHCPv6 server's unit tests.

It follows the contract's rules as the server relies on them: the lookup's order and
`subnet6:` match, one lease per (DUID, IAID, kind), a value another IA holds unexpired or a
host reserves never given, commit refused outside the source, release and decline only by
the holder, a stable DUID per server name.
"""

import ipaddress

from twisted.internet import defer

from apidhcpd.store.contract import Host, Lookup, StoreUnavailable, first_host
from apidhcpd.store.contract6 import Conflict6, IAKey, Lease6, Source6

SUBNET6 = "subnet6:"


def _in_source(value, source):
    try:
        if source.prefixes:
            network = ipaddress.IPv6Network(value)
            return network.prefixlen == source.delegated and any(
                network.subnet_of(ipaddress.IPv6Network((start, length)))
                for start, length in source.prefixes)
        number = int(ipaddress.IPv6Address(value))
    except ValueError:
        return False
    return any(first <= number <= last for first, last in source.ranges)


def _pool(source, limit=4096):
    if source.prefixes:
        for start, length in source.prefixes:
            network = ipaddress.IPv6Network((start, length))
            for n, sub in enumerate(network.subnets(new_prefix=source.delegated)):
                if n >= limit:
                    break
                yield str(sub)
    else:
        for first, last in source.ranges:
            for n in range(first, min(last, first + limit) + 1):
                yield str(ipaddress.IPv6Address(n))


class FakeStore6:
    def __init__(self):
        self.data = {}
        self.leases = {}  # IAKey -> Lease6
        self.declined = {}  # value -> until
        self.duids = {}
        self.calls = []
        self.down = False

    def hset(self, key, **fields):
        self.data.setdefault(key, {}).update({k.replace("_", "-"): str(v)
                                              for k, v in fields.items()})

    def _call(self, name, value):
        self.calls.append(name)
        if self.down:
            return defer.fail(StoreUnavailable("down"))
        return defer.succeed(value)

    def _reserved(self):
        found = set()
        for key, fields in self.data.items():
            if key.startswith(("duid:", "mac:", "relay:", "remote:", "client:")):
                for name in ("ip6", "prefix6"):
                    if fields.get(name):
                        found.add(str(ipaddress.ip_network(fields[name], strict=False))
                                  if "/" in fields[name]
                                  else str(ipaddress.IPv6Address(fields[name])))
        return found

    def _holder(self, value, now):
        for lease in self.leases.values():
            if lease.value == value and lease.expires > now:
                return lease.ia
        return None

    def _free(self, ia, value, now):
        holder = self._holder(value, now)
        return (holder in (None, ia) and value not in self._reserved()
                and self.declined.get(value, 0) <= now)

    # IStore6

    def lookup6(self, host_keys, now, selector):
        host = first_host(host_keys, self.data)
        if host:
            self.data[host.key]["ts"] = str(now)
            host = Host(host.key, dict(self.data[host.key]))
        address = ipaddress.IPv6Address(selector)
        subnet = None
        for key in self.data:
            if key.startswith(SUBNET6):
                network = ipaddress.IPv6Network(key[len(SUBNET6):])
                if address in network and (subnet is None or network.prefixlen
                                           > ipaddress.IPv6Network(subnet).prefixlen):
                    subnet = key[len(SUBNET6):]
        subnet_fields = dict(self.data.get(SUBNET6 + subnet, {})) if subnet else {}
        if host and (host.fields.get("group") or host.fields.get("ip6")
                     or host.fields.get("prefix6")):
            name = host.fields.get("group", "default").removeprefix("group:")
        else:
            name = subnet_fields.get("group", "pool").removeprefix("group:")
        if "group:" + name not in self.data:
            name = "default"
        classes = tuple(sorted((k[len("class:"):], dict(v)) for k, v in self.data.items()
                               if k.startswith("class:")))
        return self._call("lookup6", Lookup(
            host, name, dict(self.data.get("group:" + name, {})),
            dict(self.data.get("group:default", {})), subnet, subnet_fields,
            classes=classes))

    def leases6_of(self, duid, now):
        return self._call("leases6_of", [lease for ia, lease in self.leases.items()
                                         if ia.duid == duid and lease.expires > now])

    def offer6(self, ia, source, hints, now, hold):
        current = self.leases.get(ia)
        candidates = ([current.value] if current and current.expires > now else []) + \
            list(hints)
        choice = next((v for v in candidates if _in_source(v, source)
                       and self._free(ia, v, now)), None)
        if choice is None:
            choice = next((v for v in _pool(source) if self._free(ia, v, now)), None)
        if choice is None:
            return self._call("offer6", None)
        if current and current.value == choice and current.state == "bound":
            return self._call("offer6", current)
        lease = self.leases[ia] = Lease6(ia, choice, "offered", now + hold)
        return self._call("offer6", lease)

    def commit6(self, ia, value, source, valid, now, mac=""):
        self.calls.append("commit6")
        if self.down:
            return defer.fail(StoreUnavailable("down"))
        if not _in_source(value, source):
            return defer.fail(Conflict6("%s is not in %s" % (value, source.name), taken=False))
        if not self._free(ia, value, now):
            return defer.fail(Conflict6("%s is taken" % value, taken=True))
        lease = self.leases[ia] = Lease6(ia, value, "bound", now + valid)
        return defer.succeed(lease)

    def commit6_reserved(self, ia, value, valid, now):
        self.calls.append("commit6_reserved")
        if self._holder(value, now) not in (None, ia):
            return defer.fail(Conflict6("%s is held by another IA" % value, taken=True))
        lease = self.leases[ia] = Lease6(ia, value, "bound", now + valid)
        return defer.succeed(lease)

    def release6(self, ia, value, now):
        lease = self.leases.get(ia)
        if lease is None or lease.value != value or lease.expires <= now:
            return self._call("release6", False)
        del self.leases[ia]
        return self._call("release6", True)

    def decline6(self, ia, value, now, probation):
        lease = self.leases.get(ia)
        if lease is None or lease.value != value or lease.expires <= now:
            return self._call("decline6", False)
        del self.leases[ia]
        self.declined[value] = now + probation
        return self._call("decline6", True)

    def reclaim6(self, now):
        gone = [ia for ia, lease in self.leases.items() if lease.expires <= now]
        for ia in gone:
            del self.leases[ia]
        return self._call("reclaim6", len(gone))

    def server_duid(self, name, proposed):
        return self._call("server_duid", self.duids.setdefault(name, proposed))


__all__ = ["FakeStore6", "IAKey", "Source6"]
