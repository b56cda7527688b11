"""validation.py on a MemoryStore: key spellings, the fields a write names, what a write adds
(hosts, groups, subnets, the pool hash), deletions, and whole imports checked as snapshots.
Pure: no Redis, no HTTP, no reactor."""

import ipaddress

from twisted.internet import defer
from twisted.trial import unittest

from apidhcpd.admin import validation as v
from apidhcpd.admin.validation import Invalid
from apidhcpd.dhcp4.profile import Link
from apidhcpd.store.memory import MemoryStore

LINK = Link("192.0.2.1", ipaddress.IPv4Network("192.0.2.0/24"))
A, B = "mac:02:00:00:00:00:0a", "mac:02:00:00:00:00:0b"


class Reads:
    """A store that records the reads made of it, and refuses writes."""

    def __init__(self, store):
        self.store = store
        self.reads = []

    def get(self, key):
        self.reads.append(("get", key))
        return self.store.get(key)

    def hashes(self, prefix):
        self.reads.append(("hashes", prefix))
        return self.store.hashes(prefix)

    def __getattr__(self, name):
        """The DHCPv6 bounded reads (IAdmin6), recorded too."""
        if name not in ("subnet6_of", "holders6", "lease6_at"):
            raise AttributeError(name)

        def read(arg):
            self.reads.append((name, arg))
            return getattr(self.store, name)(arg)
        return read


class KeyTests(unittest.SynchronousTestCase):
    def test_mac_spellings(self):
        for text in ("02:00:00:00:00:0A", "02-00-00-00-00-0a", "0200.0000.000a",
                     "02000000000a", "mac:2:0:0:0:0:a", " 02.00.00.00.00.0a ", "MAC:02000000000A"):
            self.assertEqual(v.mac_key(text), A, text)
            self.assertEqual(v.normalise_mac(text), A[4:], text)
        self.assertEqual(v.normalise_mac("AABB.CCDD.EEFF"), "aa:bb:cc:dd:ee:ff")
        self.assertEqual(v.normalise_mac("AA-BB-CC-DD-EE-FF"), "aa:bb:cc:dd:ee:ff")
        for bad in ("02:00:00:00:00", "02:00:00:00:00:0g", "", "02:00:00:00:00:0a:0b",
                    "02:00-00:00:00:0a", "020.0000.000a", "0200:0000:000a", None, 7):
            e = self.assertRaises(Invalid, v.mac_key, bad)
            self.assertEqual((e.status, e.error), (400, "bad MAC address"))
            self.assertEqual(e.lines(), ["bad MAC address %r (write aa:bb:cc:dd:ee:ff)" % (bad,)])

    def test_client_ids(self):
        self.assertEqual(v.client_key("01020000000a0a"), "client:01020000000a0a")
        self.assertEqual(v.client_key("client:kitchen-hub"), "client:kitchen-hub")
        for bad in ("", "has space", "x" * 256, "caf\u00e9", "client:", None):
            self.assertRaises(Invalid, v.client_key, bad)
        self.assertIn("bad client id 'has space'", str(self.assertRaises(
            Invalid, v.client_key, "has space")))

    def test_a_trailing_newline_is_no_part_of_a_valid_key(self):
        """`$` matches before a final newline: `client:foo\n` was accepted as a new key."""
        for parse, text in ((v.client_key, "foo\n"), (v.client_key, "client:foo\n"),
                            (v.group_key, "lab\n"), (v.inventory_key, "relay:sw1/7\n"),
                            (v.inventory_key, "client:foo\n"), (v.inventory_key, "group:lab\n")):
            self.assertRaises(Invalid, parse, text)

    def test_group_names(self):
        self.assertEqual(v.group_key("lab.2_a-b"), "group:lab.2_a-b")
        self.assertEqual(v.group_key("group:lab"), "group:lab")
        self.assertEqual(v.group_key("g" * 64), "group:" + "g" * 64)
        for bad in ("bad name", "-lab", "", "g" * 65, "group:"):
            self.assertIn("bad group name", str(self.assertRaises(Invalid, v.group_key, bad)))

    def test_subnets_and_other_keys(self):
        self.assertEqual(v.subnet_key("198.51.100.0/24"), "subnet:198.51.100.0/24")
        self.assertEqual(v.subnet_key("subnet:198.51.100.0/24"), "subnet:198.51.100.0/24")
        self.assertIn("write it as network/length",
                      str(self.assertRaises(Invalid, v.subnet_key, "198.51.100.0")))
        self.assertIn("has host bits set",
                      str(self.assertRaises(Invalid, v.subnet_key, "198.51.100.1/24")))
        for text, key in (("mac:02-00-00-00-00-0A", A), ("relay:sw1/7", "relay:sw1/7"),
                          ("remote:0a0b", "remote:0a0b"), ("pool", "pool"),
                          ("group:lab", "group:lab"), ("client:x", "client:x")):
            self.assertEqual(v.inventory_key(text), key)
        for bad in ("lease:192.0.2.1", "reserved", "relay:", "pools"):
            self.assertIn("is not an inventory key",
                          str(self.assertRaises(Invalid, v.inventory_key, bad)))

    def test_subnet6_keys_are_stored_in_rfc_5952_form(self):
        """The lookup computes the key's spelling from the address it places (docs/redis.md):
        any other spelling would never be matched."""
        for text in ("2001:db8:1::/64", "2001:DB8:1:0::/64", "2001:0db8:0001:0000:0000:0000:"
                     "0000:0000/64", "subnet6:2001:db8:1::/64", " 2001:db8:1::/64 "):
            self.assertEqual(v.subnet6_key(text), "subnet6:2001:db8:1::/64", text)
        self.assertEqual(v.subnet6_key("::/0"), "subnet6:::/0")
        self.assertIn("has bits set after its length",
                      str(self.assertRaises(Invalid, v.subnet6_key, "2001:db8:1::1/64")))
        self.assertIn("write it as network/length",
                      str(self.assertRaises(Invalid, v.subnet6_key, "2001:db8:1::")))
        for bad in ("2001:db8:1::/129", "2001:db8::1::/64", "fe80::%eth0/64", "::ffff:1.2.3.4/96",
                    "198.51.100.0/24", "2001:db8:1::/6x", "", None, "subnet6:"):
            e = self.assertRaises(Invalid, v.subnet6_key, bad)
            self.assertEqual((e.status, e.error), (400, "bad subnet6"))
        self.assertEqual(v.noun("subnet6:2001:db8:1::/64"), "subnet6")

    def test_duid_keys_are_lower_case_hex(self):
        duid = "duid:000100012a0000000200000000d1"
        for text in ("000100012a0000000200000000d1",
                     "00:01:00:01:2A:00:00:00:02:00:00:00:00:D1",
                     "00-01-00-01-2a-00-00-00-02-00-00-00-00-d1", duid,
                     "DUID:000100012A0000000200000000D1"):
            self.assertEqual(v.duid_key(text), duid, text)
        self.assertEqual(v.duid_key("00030001020000000002"), "duid:00030001020000000002")
        for bad in ("0001", "00:01:0", "zz0100012a00", "00:01-00:01:02:03", "00" * 131, "",
                    None, "0001000100", "duid:"):
            e = self.assertRaises(Invalid, v.duid_key, bad)
            self.assertEqual((e.status, e.error), (400, "bad DUID"), bad)
        self.assertEqual(v.noun(duid), "host")

    def test_ipv4(self):
        self.assertEqual(v.ipv4(" 192.0.2.1 "), "192.0.2.1")
        e = self.assertRaises(Invalid, v.ipv4, "192.0.2.300", "fixed-address")
        self.assertEqual((e.status, e.error, str(e)),
                         (400, "bad fixed-address",
                          "bad fixed-address '192.0.2.300': not an IPv4 address"))
        self.assertRaises(Invalid, v.ipv4, None)

    def test_invalid_lines_name_the_key(self):
        e = Invalid(400, "invalid host", ["dns: bad", "ip: worse"], key=A)
        self.assertEqual(e.lines(), [A + ": dns: bad", A + ": ip: worse"])
        self.assertEqual(e.details, ["dns: bad", "ip: worse"])
        self.assertEqual(Invalid(409, "conflict").lines(), ["conflict"])


class FieldTests(unittest.SynchronousTestCase):
    def details(self, *args, **kw):
        e = self.assertRaises(Invalid, v.check_fields, *args, **kw)
        self.assertEqual((e.status, e.error), (400, "invalid fields"))
        return e.details

    def test_server_fields_cannot_be_written_or_removed(self):
        self.assertEqual(self.details(A, {"ip": "192.0.2.5", "ts": "1"}),
                         ["ts: written by the server; it cannot be set or removed"])
        self.assertEqual(len(self.details(A, {}, ["dynamic"])), 1)
        self.assertEqual(len(self.details("group:lab", {"ts": "1"})), 1)

    def test_values_are_strings_and_names_are_names(self):
        self.assertEqual(self.details(A, {"ip": 11}), ["ip: values are strings, not int"])
        self.assertEqual(self.details(A, {"ip": None}), ["ip: values are strings, not NoneType"])
        v.check_fields(A, {"ip": None, "dns": "192.0.2.53"}, nullable=True)
        self.assertIn("or null", self.details(A, {"ip": 11}, nullable=True)[0])
        self.assertEqual(len(self.details(A, {" ip": "x", "": "y", "a b": "z"})), 3)
        v.check_fields(A, {"option-interface-mtu": "9000", "lease-time": "1h"}, ["hostname"])
        self.assertEqual(len(self.details(A, {"dns\n": "192.0.2.53"})), 1)
        self.assertEqual(len(self.details(A, {}, ["hostname\n"])), 1)

    def test_pool_fields_are_addresses_and_owners(self):
        v.check_fields("pool", {"192.0.2.9": "", "192.0.2.10": "02-00-00-00-00-0A"})
        self.assertEqual(self.details("pool", {"192.0.2.300": "", "192.0.2.11": "nobody"}),
                         ["'192.0.2.300' is not an IPv4 address",
                          "owner 'nobody' of 192.0.2.11 is not a MAC address"])


class StoreTestCase(unittest.SynchronousTestCase):
    def setUp(self):
        self.memory = MemoryStore()
        self.memory.hset("group:default", gateway="192.0.2.1", prefix="24", dns="192.0.2.53",
                         lease_time="1h")
        self.memory.hset("group:pool", range="192.0.2.100-192.0.2.150")
        self.memory.hset("mac:02:00:00:00:01:01", ip="192.0.2.10")
        self.store = Reads(self.memory)

    def check(self, key, after, before=None, link=LINK):
        d = defer.ensureDeferred(v.check_write(self.store, key, before, after, link))
        return self.successResultOf(d)

    def rejected(self, key, after, *fragments, before=None, link=LINK, status=400):
        before_data = repr(sorted(self.memory.data.items()))
        d = defer.ensureDeferred(v.check_write(self.store, key, before, after, link))
        e = self.failureResultOf(d, Invalid).value
        self.assertEqual(e.status, status, e.details)
        self.assertEqual(e.key, key)
        for fragment in fragments:
            self.assertTrue(any(fragment in d for d in e.details), (fragment, e.details))
        self.assertEqual(repr(sorted(self.memory.data.items())), before_data)
        return e


class HostTests(StoreTestCase):
    def test_a_good_reservation(self):
        self.check(A, {"ip": "192.0.2.20", "hostname": "box", "dns": "192.0.2.54"})

    def test_option_fields_are_read_as_the_server_reads_them(self):
        self.rejected(A, {"dns": "10.10.10"}, "dns: ")
        self.rejected(A, {"lease-time": "1x"}, "bad duration '1x' (use 30m, 1h, 24h or "
                                               "seconds)")
        e = self.rejected(A, {"colour": "blue", "option-200": "zz"}, "option-200")
        self.assertIn("unknown field 'colour'", e.details)
        self.rejected(A, {"range": "192.0.2.5-192.0.2.6"},
                      "range: a field of groups and subnets, not of hosts")

    def test_the_group_must_exist(self):
        self.rejected(A, {"ip": "192.0.2.20", "group": "group:nosuch"},
                      "group:nosuch does not exist")
        self.memory.hset("group:far", gateway="203.0.113.1", prefix="24")
        self.check(A, {"ip": "203.0.113.20", "group": "far"})

    def test_the_address(self):
        self.rejected(A, {"ip": "192.0.2.300"}, "ip '192.0.2.300' is not an IPv4 address")
        self.rejected(A, {"ip": ""}, "ip '' is not an IPv4 address")
        self.rejected(A, {"ip": "198.51.100.7"}, "ip 198.51.100.7 is outside 192.0.2.0/24, "
                      "the network of group:default, and in no subnet: key")
        self.rejected(A, {"ip": "192.0.2.0"}, "network or broadcast address of 192.0.2.0/24")
        self.rejected(A, {"ip": "192.0.2.255"}, "network or broadcast address")
        self.rejected(A, {"ip": "192.0.2.1"}, "ip 192.0.2.1 is this server's own address")
        self.check(A, {"ip": "192.0.2.1"}, link=None)  # the CLI knows no interface

    def test_an_address_in_a_subnet_key(self):
        self.memory.hset("subnet:198.51.100.0/24", gateway="198.51.100.1")
        self.check(A, {"ip": "198.51.100.7"})
        self.rejected(A, {"ip": "198.51.100.255"}, "broadcast address of 198.51.100.0/24")

    def test_without_a_link_or_a_gateway_no_network_is_known(self):
        self.memory.data["group:default"] = {"dns": "192.0.2.53"}
        self.check(A, {"ip": "203.0.113.5"}, link=None)
        self.rejected(A, {"ip": "203.0.113.5"}, "outside 192.0.2.0/24")  # the link's

    def test_a_host_of_its_own_network(self):
        self.check(A, {"ip": "203.0.113.5", "gateway": "203.0.113.1", "prefix": "24"})

    def test_an_address_another_host_holds_is_a_conflict(self):
        self.memory.hset("client:laptop", ip="192.0.2.17")
        self.memory.hset(B, ip="192.0.2.100", dynamic="1")
        e = self.rejected(A, {"ip": "192.0.2.17"}, status=409)
        self.assertEqual((e.error, e.details), (v.RESERVED, [
            "ip 192.0.2.17 is already reserved by client:laptop"]))
        e = self.rejected(A, {"ip": "192.0.2.100"}, status=409)
        self.assertEqual((e.error, e.details), (v.LEASED, [
            "ip 192.0.2.100 is already leased by " + B]))
        self.check("mac:02:00:00:00:01:01", {"ip": "192.0.2.10", "hostname": "same"},
                   before={"ip": "192.0.2.10"})

    def test_a_dynamic_lease_is_not_judged_as_a_reservation(self):
        lease = {"ip": "198.51.100.9", "dynamic": "1", "ts": "1"}
        self.check(A, dict(lease, hostname="tablet"), before=lease)
        self.rejected(A, {"ip": "198.51.100.9", "ts": "1"}, "outside 192.0.2.0/24",
                      before=lease)

    def test_only_what_the_write_adds_counts(self):
        self.memory.hset("group:default", broadcast="255.255.0.0", ntp="nonsense")
        before = {"ip": "192.0.2.20", "dns": "10.10.10", "range": "x"}
        self.check(A, dict(before, description="kept as it was"), before=before)
        self.rejected(A, dict(before, ntp="also wrong"), "ntp: ", before=before)

    def test_reads_are_targeted(self):
        """A host without a new reservation: its groups and the subnets, never the hosts."""
        self.check(A, {"hostname": "box"})
        self.check(A, {"ip": "192.0.2.20", "description": "x"}, before={"ip": "192.0.2.20"})
        self.assertNotIn(("hashes", "mac:"), self.store.reads)
        self.assertEqual(set(self.store.reads), {("get", "group:default"),
                                                 ("get", "group:pool"),
                                                 ("hashes", "subnet:")})


class GroupAndSubnetTests(StoreTestCase):
    def test_group_fields(self):
        self.check("group:lab", {"gateway": "198.51.100.1", "prefix": "24",
                                 "range": "198.51.100.10-198.51.100.20"})
        self.rejected("group:lab", {"range": "192.0.2.9-192.0.2.1"}, "runs backwards")
        self.rejected("group:lab", {"gateway": "10.0.0.1", "prefix": "24",
                                    "range": "10.0.0.10-10.0.1.20"},
                      "range 10.0.0.10-10.0.1.20 is outside 10.0.0.0/24")
        self.rejected("group:lab", {"prefix": "40"}, "bad netmask/prefix '40'")
        self.rejected("group:lab", {"broadcast": "nonsense"},
                      "broadcast 'nonsense' is not an address")
        e = self.rejected("group:lab", {"ip": "192.0.2.5", "group": "pool"})
        self.assertEqual(e.details, ["ip: a field of hosts, not of groups",
                                     "group: a field of hosts, not of groups"])

    def test_notes_do_not_block(self):
        """The seed's netmask in `broadcast` is served (corrected): it is no error."""
        self.check("group:lab", {"gateway": "172.17.2.254", "broadcast": "255.255.0.0"})
        self.check("group:default", {"gateway": "192.0.2.1", "broadcast": "255.255.255.0"},
                   before={"gateway": "192.0.2.1"})

    def test_inherited_problems_do_not_block(self):
        self.memory.hset("group:default", dns="10.10.10")
        self.check("group:lab", {"ntp": "192.0.2.22"})
        self.check("subnet:198.51.100.0/24", {"gateway": "198.51.100.1"})
        self.check("group:default", dict(self.memory.data["group:default"], ntp="192.0.2.2"),
                   before=self.memory.data["group:default"])

    def test_changing_a_network_judges_the_ranges_again(self):
        before = {"gateway": "10.0.0.1", "prefix": "24", "range": "10.0.0.10-10.0.0.200"}
        self.rejected("group:lab", dict(before, prefix="25"),
                      "range 10.0.0.10-10.0.0.200 is outside 10.0.0.0/25", before=before)

    def test_subnet_fields(self):
        self.check("subnet:198.51.100.0/24", {"group": "group:pool",
                                              "range": "198.51.100.10-198.51.100.20"})
        self.rejected("subnet:198.51.100.0/24", {"range": "192.0.2.10-192.0.2.20"},
                      "range 192.0.2.10-192.0.2.20 is outside 198.51.100.0/24")
        self.rejected("subnet:198.51.100.0/24", {"group": "nosuch"},
                      "group:nosuch does not exist")
        self.rejected("subnet:198.51.100.0/24", {"ip": "198.51.100.1"},
                      "ip: a field of hosts, not of subnets")
        self.rejected("subnet:198.51.100.0/24", {"dns": "x"}, "dns: ")


NET6 = "subnet6:2001:db8:1::/64"
D1 = "duid:000100012a0000000200000000d1"


class Subnet6Tests(StoreTestCase):
    """subnet6: keys, judged as the DHCPv6 server and the store read them (allocation6's
    strict readers, the DHCPv6 option catalogue, durations)."""

    def test_a_good_subnet6(self):
        self.check(NET6, {"range": "2001:db8:1::1000-2001:db8:1::ffff, 2001:DB8:1::5",
                          "pd-pool": "2001:db8:100::/40 56, 2001:db8:200::/40 56",
                          "dns6": "2001:db8::53, 2001:db8::54", "ntp6": "ntp.example.test",
                          "domain": "example.test", "search": "a.example.test,b.example.test",
                          "preferred-lifetime": "12h", "valid-lifetime": "24h", "t1": "6h",
                          "t2": "9h", "lease-time": "1h", "rapid-commit": "yes",
                          "information-refresh": "6h", "group": "pool",
                          "option6-sntp-servers": "2001:db8::123", "option6-200": "0a0b",
                          "description": "the lab"})

    def test_ranges_lie_inside_the_network(self):
        self.rejected(NET6, {"range": "2001:db8:2::1-2001:db8:2::9"},
                      "range 2001:db8:2::1-2001:db8:2::9 is outside 2001:db8:1::/64")
        self.rejected(NET6, {"range": "2001:db8:1::ffff-2001:db8:1::1"}, "runs backwards")
        self.rejected(NET6, {"range": "2001:db8:1::1-nope"}, "bad IPv6 address range")
        self.rejected(NET6, {"range": "::ffff:192.0.2.1"}, "range: ")

    def test_prefix_pools_read_and_stay_off_the_link(self):
        """A delegated prefix is routed to the router that asked, off the link: a pool may lie
        anywhere but on the subnet's own network (docs/redis.md's example is outside it)."""
        self.check(NET6, {"pd-pool": "2001:db8:100::/40 56"})
        self.rejected(NET6, {"pd-pool": "2001:db8::/32 56"},
                      "pd-pool 2001:db8::/32 overlaps 2001:db8:1::/64")
        self.rejected(NET6, {"pd-pool": "2001:db8:1::/64 80"}, "overlaps 2001:db8:1::/64")
        self.rejected(NET6, {"pd-pool": "2001:db8:100::/40"}, "bad pd-pool part")
        self.rejected(NET6, {"pd-pool": "2001:db8:100::/40 36"}, "delegated length")
        self.rejected(NET6, {"pd-pool": "2001:db8:100::/40 56, 2001:db8:200::/40 60"},
                      "delegates /60, the pool /56")
        self.rejected(NET6, {"pd-pool": "2001:db8:100::1/40 56"}, "bits set after its length")

    def test_options_durations_and_switches(self):
        self.rejected(NET6, {"dns6": "192.0.2.53"}, "dns6: ")
        self.rejected(NET6, {"ntp6": "a..b"}, "ntp6: ntp-server 'a..b': bad label length")
        self.rejected(NET6, {"valid-lifetime": "forever"}, "valid-lifetime: bad duration")
        self.rejected(NET6, {"t1": "-1"}, "t1: ")
        self.rejected(NET6, {"information-refresh": "0"}, "information-refresh: ")
        self.rejected(NET6, {"lease-time": "soon"}, "lease-time: bad duration")
        self.rejected(NET6, {"rapid-commit": "maybe"}, "rapid-commit: 'maybe' is not yes or no")
        self.rejected(NET6, {"option6-nosuch": "1"}, "option6-nosuch: unknown DHCPv6 option")
        self.rejected(NET6, {"option6-70000": "1"}, "option6-70000: ")
        self.rejected(NET6, {"option6-preference": "300"}, "option6-preference: ")
        self.rejected(NET6, {"option6-200": "zz"}, "option6-200: ")
        self.rejected(NET6, {"option6-ia-na": "00"}, "option 3 is the server's to write")
        self.rejected(NET6, {"search": "bad..name"}, "search: ")

    def test_fields_of_other_keys_and_of_the_other_family(self):
        e = self.rejected(NET6, {"ip": "192.0.2.5", "ip6": "2001:db8:1::5", "gateway": "x",
                                 "dns": "192.0.2.53"})
        self.assertEqual(e.details, [
            "ip: a field of hosts, not of subnets", "ip6: a field of hosts, not of subnets",
            "gateway: not a field of subnet6: keys (a subnet6: holds DHCPv6 fields: "
            "docs/redis.md)", "dns: not a field of subnet6: keys (a subnet6: holds DHCPv6 "
            "fields: docs/redis.md)"])
        self.rejected(NET6, {"group": "nosuch"}, "group:nosuch does not exist")
        self.rejected("subnet:198.51.100.0/24", {"dns6": "2001:db8::53"},
                      "dns6: a DHCPv6 field; a subnet: key is an IPv4 network (write it on "
                      "a subnet6: key)")
        self.rejected("subnet6:2001:DB8:1::/64", {"dns6": "2001:db8::53"},
                      "subnet6:2001:DB8:1::/64 is not a network in RFC 5952 form")

    def test_only_what_the_write_adds_counts(self):
        before = {"range": "2001:db8:9::1-2001:db8:9::2", "dns6": "x"}
        self.check(NET6, dict(before, ntp6="2001:db8::123"), before=before)
        self.rejected(NET6, dict(before, t2="never"), "t2: ", before=before)


class Host6Tests(StoreTestCase):
    def setUp(self):
        super().setUp()
        self.memory.put(NET6, {"range": "2001:db8:1::1000-2001:db8:1::ffff"})
        self.memory.put("subnet6:2001:db8::/127", {"dns6": "2001:db8::53"})

    def test_reservations_of_both_families_on_one_host(self):
        self.check(A, {"ip": "192.0.2.20", "ip6": "2001:DB8:1:0::5",
                       "prefix6": "2001:db8:100:100::/56", "dns6": "2001:db8::53",
                       "valid-lifetime": "2h", "option6-sntp-servers": "2001:db8::123"})
        self.check(A, {"ip6": "2001:db8::"})  # a /127 has no Subnet-Router anycast address

    def test_the_address_and_the_prefix(self):
        self.rejected(A, {"ip6": "2001:db8:1::5/64"}, "ip6 '2001:db8:1::5/64' is a prefix, "
                      "not an address")
        self.rejected(A, {"ip6": "2001:db8:1::g"}, "ip6 '2001:db8:1::g' is not an IPv6 address")
        self.rejected(A, {"ip6": "192.0.2.20"}, "is not an IPv6 address")
        self.rejected(A, {"ip6": "2001:db8:2::5"}, "ip6 2001:db8:2::5 is in no subnet6: key")
        self.rejected(A, {"ip6": "2001:db8:1::"}, "ip6 2001:db8:1:: is the Subnet-Router "
                      "anycast address of 2001:db8:1::/64")
        self.rejected(A, {"prefix6": "2001:db8:100:100::"}, "prefix6 '2001:db8:100:100::' is "
                      "not a prefix (write <address>/<length>)")
        self.rejected(A, {"prefix6": "2001:db8:100:100::1/56"}, "bits set after its length")
        self.rejected(A, {"pd-pool": "2001:db8:100::/40 56"},
                      "pd-pool: a field of subnet6: keys")
        self.rejected(A, {"dns6": "nope"}, "dns6: ")

    def test_a_value_another_host_reserves_or_another_client_holds(self):
        self.memory.put("client:laptop", {"ip6": "2001:db8:1::7", "prefix6": "2001:db8:200::/56"})
        e = self.rejected(A, {"ip6": "2001:db8:1:0:0::7"}, status=409)
        self.assertEqual((e.error, e.details), (v.RESERVED, [
            "ip6 2001:db8:1::7 is already reserved by client:laptop"]))
        e = self.rejected(D1, {"prefix6": "2001:db8:200::/56"}, status=409)
        self.assertEqual(e.details, ["prefix6 2001:db8:200::/56 is already reserved by "
                                     "client:laptop"])
        from apidhcpd.inventory.allocation6 import source6
        from apidhcpd.store.contract6 import IAKey
        pool = source6("2001:db8:1::/64", self.memory.data[NET6], "na")
        self.memory.commit6(IAKey("00030001020000000009", 1), "2001:db8:1::1000", pool, 60, 0,
                            mac="02:00:00:00:00:0a")
        self.memory.commit6(IAKey("00030001020000000008", 1), "2001:db8:1::1001", pool, 60, 0)
        e = self.rejected(B, {"ip6": "2001:db8:1::1001"}, status=409)
        self.assertEqual((e.error, e.details), (v.LEASED, [
            "ip6 2001:db8:1::1001 is already leased to duid:00030001020000000008"]))
        # the lease's own client: by its DUID, or by the MAC the server knew
        self.check("duid:00030001020000000008", {"ip6": "2001:db8:1::1001"})
        self.check(A, {"ip6": "2001:db8:1::1000"})
        self.check("client:laptop", {"ip6": "2001:db8:1::7", "description": "same"},
                   before={"ip6": "2001:db8:1::7"})

    def test_duid_hosts_serve_dhcpv6_only(self):
        self.check(D1, {"ip6": "2001:db8:1::5", "group": "pool", "description": "x",
                        "lease-time": "1h", "search": "example.test"})
        e = self.rejected(D1, {"ip": "192.0.2.20", "dns": "192.0.2.53", "group": "nosuch"})
        self.assertEqual(e.details, [
            "ip: a duid: key serves DHCPv6 only (DHCPv4 never reads it): write ip on the "
            "host's mac: or client: key", "dns: not a field of duid: keys (a duid: host has "
            "the DHCPv6 fields of mac:)", "group:nosuch does not exist"])

    def test_groups_and_classes_carry_dhcpv6_options_not_reservations(self):
        self.check("group:lab", {"dns": "192.0.2.53", "dns6": "2001:db8::53",
                                 "rapid-commit": "1", "valid-lifetime": "2h"})
        self.rejected("group:lab", {"ip6": "2001:db8:1::5"}, "ip6: a field of hosts, not of "
                      "groups")
        self.rejected("group:lab", {"pd-pool": "2001:db8:100::/40 56"},
                      "pd-pool: a field of subnet6: keys")
        self.rejected("group:lab", {"ntp6": "a..b"}, "ntp6: ")
        self.rejected("class:uefi", {"match-arch": "7", "option6-nosuch": "1"},
                      "option6-nosuch: ")
        self.rejected("class:uefi", {"match-arch": "7", "prefix6": "2001:db8::/56"},
                      "prefix6: a field of hosts, not of classes")

    def test_reads_are_targeted(self):
        """A host's DHCPv6 reservation costs the subnet6 of its address and the holders of
        its value; a host without one, nothing more than before."""
        self.check(A, {"ip6": "2001:db8:1::5"})
        self.assertEqual(set(self.store.reads) - {("get", "group:default"),
                                                  ("get", "group:pool"), ("hashes", "subnet:")},
                         {("subnet6_of", "2001:db8:1::5"), ("holders6", "2001:db8:1::5"),
                          ("lease6_at", "2001:db8:1::5")})


class PoolTests(StoreTestCase):
    def test_added_addresses(self):
        self.check("pool", {"192.0.2.200": "", "192.0.2.201": "02:00:00:00:00:0a"})
        e = self.rejected("pool", {"192.0.2.10": "", "192.0.2.11": ""}, status=409)
        self.assertEqual((e.error, e.lines()), (v.RESERVED, [
            "pool: 192.0.2.10 is reserved by mac:02:00:00:00:01:01"]))
        self.check("pool", {"192.0.2.10": "", "192.0.2.11": ""}, before={"192.0.2.10": ""})
        self.rejected("pool", {"nope": ""}, "'nope' is not an IPv4 address")

    def test_removal(self):
        pool = {"192.0.2.200": "", "192.0.2.201": "02:00:00:00:00:0a"}
        v.check_pool_removal(pool, ["192.0.2.200"], force=False)
        v.check_pool_removal(pool, ["192.0.2.201"], force=True)
        e = self.assertRaises(Invalid, v.check_pool_removal, pool, ["192.0.2.202"], False)
        self.assertEqual((e.status, e.details), (404, ["192.0.2.202 is not in the pool"]))
        e = self.assertRaises(Invalid, v.check_pool_removal, pool, ["192.0.2.201"], False)
        self.assertEqual(e.status, 409)
        self.assertIn("192.0.2.201 is held by 02:00:00:00:00:0a", e.details[0])


class DeleteTests(StoreTestCase):
    def delete(self, key):
        return defer.ensureDeferred(v.check_delete(self.store, key))

    def test_group_default_must_exist(self):
        e = self.failureResultOf(self.delete("group:default"), Invalid).value
        self.assertEqual(e.status, 409)
        self.assertIn("group:default must exist", e.details[0])

    def test_a_group_in_use(self):
        self.memory.hset("group:lab", dns="192.0.2.53")
        self.successResultOf(self.delete("group:lab"))
        for n in range(4):
            self.memory.hset("client:c%d" % n, group="group:lab")
        self.memory.hset("subnet:198.51.100.0/24", group="lab")
        e = self.failureResultOf(self.delete("group:lab"), Invalid).value
        self.assertEqual((e.status, e.lines()), (409, [
            "group:lab is used by client:c0, client:c1, client:c2 and 2 more"]))
        self.successResultOf(self.delete("mac:02:00:00:00:01:01"))
        self.successResultOf(self.delete("subnet:198.51.100.0/24"))

    def test_subnet6_and_duid_keys_use_groups_too(self):
        self.memory.hset("group:v6", dns6="2001:db8::53")
        self.memory.hset(NET6, group="v6")
        self.memory.hset(D1, group="group:v6")
        e = self.failureResultOf(self.delete("group:v6"), Invalid).value
        self.assertEqual(e.lines(), ["group:v6 is used by %s, %s" % (D1, NET6)])
        snapshot = v.Snapshot(dict(self.memory.data))
        d = defer.ensureDeferred(v.check_delete(snapshot, "group:v6"))
        self.assertEqual(self.failureResultOf(d, Invalid).value.lines(), e.lines())

    def test_emptying_a_hash_deletes_it(self):
        before = self.memory.data["group:default"]
        d = defer.ensureDeferred(v.check_write(self.store, "group:default", before, {}, LINK))
        e = self.failureResultOf(d, Invalid).value
        self.assertEqual(e.status, 409)
        self.assertIn("group:default must exist", e.lines()[0])
        self.check("mac:02:00:00:00:01:01", {}, before={"ip": "192.0.2.10"})


class SnapshotTests(unittest.SynchronousTestCase):
    """Imports: many keys at once, judged against the inventory they leave."""

    def setUp(self):
        self.before = {"group:default": {"gateway": "192.0.2.1", "prefix": "24"},
                       "mac:02:00:00:00:01:01": {"ip": "192.0.2.10", "group": "old"},
                       "group:old": {"dns": "192.0.2.53"}}

    def check(self, after, keys):
        return defer.ensureDeferred(v.check_snapshot(self.before, after, keys))

    def test_a_group_and_its_hosts_in_one_import(self):
        after = dict(self.before, **{"group:lab": {"gateway": "198.51.100.1", "prefix": "24"},
                                     A: {"ip": "198.51.100.5", "group": "lab"}})
        self.successResultOf(self.check(after, ["group:lab", A]))

    def test_every_problem_names_its_key(self):
        after = dict(self.before, **{A: {"ip": "192.0.2.20", "dns": "x"},
                                     B: {"ip": "192.0.2.20", "group": "nosuch"},
                                     "pool": {"192.0.2.10": "", "x": ""}})
        del after["group:old"]
        e = self.failureResultOf(self.check(after, [A, B, "pool", "group:old"]),
                                 Invalid).value
        lines = e.lines()
        self.assertIn(A + ": ip 192.0.2.20 is already reserved by " + B, lines)
        self.assertIn(B + ": ip 192.0.2.20 is already reserved by " + A, lines)
        self.assertIn(B + ": group:nosuch does not exist", lines)
        self.assertIn("pool: 192.0.2.10 is reserved by mac:02:00:00:00:01:01", lines)
        self.assertIn("pool: 'x' is not an IPv4 address", lines)
        self.assertIn("group:old is used by mac:02:00:00:00:01:01", lines)
        self.assertTrue(any(line.startswith(A + ": dns: ") for line in lines))

    def test_deleting_a_group_with_its_users(self):
        after = {"group:default": self.before["group:default"]}
        self.successResultOf(self.check(after, ["group:old", "mac:02:00:00:00:01:01"]))
        e = self.failureResultOf(self.check({}, ["group:default"]), Invalid).value
        self.assertIn("group:default must exist", e.lines()[0])


class GatewayWarningTests(unittest.SynchronousTestCase):
    """A group whose gateway lies on none of the subnets it serves (issue 10, item 11): valid,
    but its clients there get the subnet's router; the API and the CLI can say so."""

    def setUp(self):
        self.store = MemoryStore()
        # the seed's groups (examples/inventory.sh): the server LAN's router
        self.store.hset("group:default", gateway="192.0.2.254", broadcast="255.255.255.0")
        self.store.hset("group:pool", gateway="192.0.2.254", dns="192.0.2.53")
        self.store.hset("group:lab", dns="192.0.2.53")

    def warnings(self):
        return self.successResultOf(defer.ensureDeferred(v.network_warnings(self.store)))

    def test_no_subnets_no_warning(self):
        self.assertEqual(self.warnings(), [])

    def test_the_seeds_pool_group_on_a_relayed_subnet(self):
        self.store.hset("subnet:198.51.100.0/24", gateway="198.51.100.1")
        self.assertEqual(self.warnings(), [
            "group:default: gateway 192.0.2.254 is not on 198.51.100.0/24; it is on none of "
            "the subnets the group serves (198.51.100.0/24), whose clients are sent their "
            "subnet's own router, mask and routes",
            "group:pool: gateway 192.0.2.254 is not on 198.51.100.0/24; it is on none of the "
            "subnets the group serves (198.51.100.0/24), whose clients are sent their subnet's "
            "own router, mask and routes"])
        self.store.hset("subnet:192.0.2.0/24", group="pool")  # the LAN has its subnet: key
        self.assertEqual(self.warnings(), [])

    def test_only_the_subnets_a_group_serves_count(self):
        self.store.hset("subnet:192.0.2.0/24", group="pool")
        self.store.hset("subnet:198.51.100.0/24", group="lab")
        self.store.hset("group:lab", gateway="192.0.2.1")
        self.assertEqual([w.split(":")[1] for w in self.warnings()], ["lab"])
        self.store.hset("group:lab", gateway="198.51.100.1", prefix="16")
        self.assertIn("prefix 16 is not the mask of 198.51.100.0/24", self.warnings()[0])
        self.store.hset("group:lab", prefix="24")
        self.assertEqual(self.warnings(), [])
