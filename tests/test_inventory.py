"""Reading the inventory's fields: durations, the seed's groups, and lenient error handling."""

import ipaddress

from twisted.trial import unittest

from apidhcpd.dhcp4 import options
from apidhcpd.dhcp4.profile import Link, build_profile
from apidhcpd.inventory.durations import parse_duration

LINK = Link("172.17.2.1", ipaddress.IPv4Network("172.17.0.0/16"))

# the seed's own groups (SEED.md, `show groups`)
SEED_POOL = {"lease-time": "1h", "gateway": "172.17.2.254", "broadcast": "255.255.0.0",
             "dns": "10.10.10.10,172.17.2.2", "domain": "ojala.cloud.", "ntp": "172.17.2.22"}
SEED_DEFAULT = {"domain": "ojala.cloud.", "lease-time": "24h", "gateway": "172.17.2.254",
                "broadcast": "255.255.0.0", "dns": "10.10.10.10", "prefix": "16"}


def decoded(profile, code):
    return options.decode_option(code, profile.options[code])


class DurationTests(unittest.SynchronousTestCase):
    def test_go_durations_and_seconds(self):
        for text, seconds in [("1h", 3600), ("24h", 86400), ("30m", 1800), ("1h30m", 5400),
                              ("90s", 90), ("3600", 3600), ("1.5h", 5400)]:
            self.assertEqual(parse_duration(text), seconds, text)

    def test_bad_durations(self):
        for text in ("", "forever", "1d", "h", "-1h", "10ms", "1h junk"):
            self.assertRaises(ValueError, parse_duration, text)


class SeedGroupTests(unittest.SynchronousTestCase):
    def test_pool_group_with_netmask_in_broadcast(self):
        profile = build_profile("pool", SEED_POOL, LINK)
        self.assertEqual(profile.lease_time, 3600)
        self.assertEqual(str(profile.network), "172.17.0.0/16")
        self.assertEqual(decoded(profile, 1), "255.255.0.0")
        self.assertEqual(decoded(profile, 28), "172.17.255.255")
        self.assertEqual(decoded(profile, 3), ["172.17.2.254"])
        self.assertEqual(decoded(profile, 6), ["10.10.10.10", "172.17.2.2"])
        self.assertEqual(decoded(profile, 15), "ojala.cloud")
        self.assertEqual(decoded(profile, 42), ["172.17.2.22"])
        self.assertEqual(profile.errors, ())
        self.assertEqual(len(profile.notes), 1)
        self.assertIn("looks like a netmask", profile.notes[0])

    def test_default_group_with_prefix(self):
        profile = build_profile("default", SEED_DEFAULT, LINK)
        self.assertEqual((profile.lease_time, str(profile.network)), (86400, "172.17.0.0/16"))
        self.assertEqual(decoded(profile, 28), "172.17.255.255")

    def test_correct_broadcast_gives_no_warning(self):
        profile = build_profile("g", dict(SEED_DEFAULT, broadcast="172.17.255.255"), LINK)
        self.assertEqual(profile.warnings, ())


class OurFieldTests(unittest.SynchronousTestCase):
    def test_domain_list_becomes_search_list(self):
        profile = build_profile("g", {"domain": "a.example, b.example"}, LINK)
        self.assertEqual(decoded(profile, 15), "a.example")
        self.assertEqual(decoded(profile, 119), ["a.example", "b.example"])

    def test_routes_carry_the_default_route(self):
        profile = build_profile("g", {"gateway": "172.17.2.254",
                                      "routes": "10.0.0.0/8 172.17.2.1"}, LINK)
        self.assertEqual(decoded(profile, 121), [("10.0.0.0/8", "172.17.2.1"),
                                                 ("0.0.0.0/0", "172.17.2.254")])

    def test_host_fields_override_and_generic_options(self):
        profile = build_profile("g", {"dns": "172.17.2.2", "option-mtu": "9000"}, LINK,
                                {"dns": "172.17.2.3", "hostname": "pi",
                                 "option-interface-mtu": "1400", "option-200": "0a0b"})
        self.assertEqual(decoded(profile, 6), ["172.17.2.3"])
        self.assertEqual(decoded(profile, 12), "pi")
        self.assertEqual(decoded(profile, 26), 1400)
        self.assertEqual(profile.options[200], b"\x0a\x0b")

    def test_ranges_and_defaults(self):
        profile = build_profile("g", {"range": "172.17.9.1-172.17.9.9"}, LINK)
        self.assertEqual(profile.ranges, ((0xAC110901, 0xAC110909),))
        self.assertEqual(profile.network, LINK.network)
        self.assertEqual(profile.lease_time, 86400)

    def test_bad_values_are_warnings_not_errors(self):
        profile = build_profile("g", {"dns": "x", "ntp": "300.1.1.1", "lease-time": "soon",
                                      "range": "a-b", "prefix": "40", "colour": "blue"}, LINK)
        self.assertEqual(len(profile.errors), 6)
        self.assertEqual(profile.notes, ())
        self.assertNotIn(6, profile.options)
        self.assertEqual(profile.network, LINK.network)

    def test_dhcpv6_fields_are_the_other_familys_not_unknown_fields(self):
        """A group (or host) serves both families: its DHCPv6 fields (dns6, option6-..., the
        lifetimes, a host's ip6) are no DHCPv4 options and no "unknown field" either."""
        fields6 = {"dns6": "2001:db8::53", "ntp6": "2001:db8::123", "option6-sntp-servers":
                   "2001:db8::1", "preferred-lifetime": "1h", "valid-lifetime": "2h",
                   "t1": "30m", "t2": "48m", "rapid-commit": "yes", "information-refresh": "1d",
                   "pd-pool": "2001:db8:100::/40 56"}
        profile = build_profile("g", dict(fields6, dns="172.17.2.2"), LINK,
                                {"ip6": "2001:db8::5", "prefix6": "2001:db8:100::/56"})
        self.assertEqual(profile.errors, ())
        self.assertEqual(set(profile.options), {1, 6, 28})
        self.assertEqual(len(build_profile("g", {"option7-x": "1"}, LINK).errors), 1)


class NetworkBoundTests(unittest.SynchronousTestCase):
    """Which fields belong to one network, and whether a hash's belong to a given subnet."""

    NET = ipaddress.IPv4Network("198.51.100.0/24")

    def test_the_network_bound_fields(self):
        from apidhcpd.dhcp4.profile import network_bound, without_network
        bound = ["gateway", "prefix", "netmask", "broadcast", "routes", "mtu", "option-3",
                 "option-router", "option-1", "option-subnet-mask", "option-28",
                 "option-33", "option-static-route", "option-121", "option-249",
                 "option-ms-classless-static-route", "option-26", "option-interface-mtu"]
        free = ["dns", "domain", "ntp", "hostname", "lease-time", "range", "option-6",
                "option-200", "option-nonsense", "group", "ip"]
        self.assertEqual([f for f in bound + free if network_bound(f)], bound)
        fields = dict.fromkeys(bound + free, "x")
        self.assertEqual(sorted(without_network(fields)), sorted(free))

    def test_a_hash_belongs_where_its_routers_and_masks_do(self):
        from apidhcpd.dhcp4.profile import off_network
        belongs = [{}, {"dns": "192.0.2.53"}, {"gateway": "198.51.100.1", "prefix": "24"},
                   {"gateway": "198.51.100.1,198.51.100.2", "netmask": "255.255.255.0"},
                   {"broadcast": "255.255.255.0"}, {"prefix": "/24"},
                   {"routes": "203.0.113.0/24 198.51.100.9, 192.0.2.0/24 0.0.0.0"},
                   {"option-static-route": "cb007100c6336409"},
                   {"option-249": "203.0.113.0/24 198.51.100.9"}, {"mtu": "1400"}]
        for fields in belongs:
            self.assertIsNone(off_network(fields, self.NET), fields)
        foreign = [({"gateway": "192.0.2.254"}, "gateway 192.0.2.254 is not on"),
                   ({"gateway": "198.51.100.1", "prefix": "16"}, "prefix 16 is not the mask"),
                   ({"broadcast": "255.255.0.0"}, "broadcast 255.255.0.0 is not the mask"),
                   ({"routes": "203.0.113.0/24 192.0.2.9"}, "routes 192.0.2.9 is not on"),
                   ({"option-router": "192.0.2.1"}, "option-router 192.0.2.1 is not on"),
                   ({"option-33": "cb007100c00002fe"}, "option-33 192.0.2.254 is not on"),
                   ({"option-33": "cb007100"}, "not a list of address pairs"),
                   ({"option-subnet-mask": "255.255.0.0"}, "is not the mask"),
                   ({"gateway": "router"}, "not an address"),
                   ({"routes": "nonsense"}, "does not parse")]
        for fields, why in foreign:
            self.assertIn(why, off_network(fields, self.NET) or "", fields)

    def test_on_a_subnet_the_mask_and_broadcast_are_the_subnets(self):
        profile = build_profile("g", {"option-subnet-mask": "255.255.0.0",
                                      "option-broadcast-address": "198.51.255.255"}, LINK,
                                network=self.NET)
        self.assertEqual((decoded(profile, 1), decoded(profile, 28)),
                         ("255.255.255.0", "198.51.100.255"))
        self.assertEqual(len(profile.notes), 2)
