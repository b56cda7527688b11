"""More of what issue 14 asks to see with real DHCPv6 clients in namespaces (2001:db8::/32
only): ISC `dhclient -6 -S` (stateless: INFORMATION-REQUEST) gets DNS and the search list, a
`duid:` entry reserves an address, `dhcpcd` gets an address, and malformed DHCPv6 sent on the
wire (truncated, wrong lengths, relays nested past the hop limit, thousands of options) is
dropped and counted while the server keeps answering a real client."""

import json
import struct
import time

from tests.integration.clients6 import Dhclient6, run_dhcpcd6
from tests.integration.test_dhcp6 import Dhcp6TestCase, in_range
from tests.redisserver import free_port

# what ISC dhclient -6 -S calls its script with for the REPLY to an INFORMATION-REQUEST
# (4.4: RENEW6, with the options and no address; INFORM6 in some builds)
INFORM = ("RENEW6", "INFORM6")

# datagrams sent from the client namespace to ff02::1:2 port 547 (the server's group)
SOLICIT_HEAD = bytes([1, 0x12, 0x34, 0x56])


def option(code, data):
    return struct.pack("!HH", code, len(data)) + data


def relay_forw(inner, hops):
    return bytes([12, hops]) + bytes(16) + bytes(16) + option(9, inner)


def nested(depth):
    packet = SOLICIT_HEAD + option(1, bytes.fromhex("00030001020000000001"))
    for hops in range(depth):
        packet = relay_forw(packet, hops)
    return packet


MALFORMED = [
    b"",                                                   # nothing
    b"\x01",                                               # a type and no transaction id
    SOLICIT_HEAD + b"\x00\x01\x00\x40abc",                 # an option longer than the packet
    SOLICIT_HEAD + b"\x00\x01\x00",                        # half an option header
    nested(40),                                            # relays past the hop limit (32)
    SOLICIT_HEAD + option(6, b"\x00\x17") * 5000,          # thousands of options
    bytes([12, 0]) + bytes(20),                            # a RELAY-FORW cut in its header
    bytes([255]) + bytes(50),                              # no such message type
]

SEND = r"""
import json, socket, sys
packets = [bytes.fromhex(h) for h in json.loads(sys.stdin.read())]
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex("eth0"))
for p in packets:
    s.sendto(p, ("ff02::1:2", 547, 0, socket.if_nametoindex("eth0")))
"""


class MoreClientTests(Dhcp6TestCase):
    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.server = self.start("--api-listen", "127.0.0.1:%d" % self.port)
        self.cli = self.client()

    def metrics(self):
        """/metrics of the server, read with curl in its namespace."""
        done = self.srv.run(["curl", "-sS", "--max-time", "10",
                             "http://127.0.0.1:%d/metrics" % self.port], check=False)
        return done.stdout

    def test_a_stateless_client_gets_dns_and_the_search_list(self):
        client = Dhclient6(self.cli, "-1", "-S").start()
        found = client.wait(reasons=INFORM)
        events = [e for e in found if e.reason in INFORM]
        self.assertEqual(len(events), 1, [e.reason for e in found])
        self.assertEqual((events[0].dns, events[0].search), (["2001:db8::53"], ["example.test"]))
        self.assertIsNone(events[0].address)
        self.assertRegex(self.server.log(), r"INFORMATION_REQUEST from \S+ .*-> reply")

    def test_a_duid_entry_reserves_an_address(self):
        duid = "00030001" + self.cli.mac.replace(":", "")  # dhclient -D LL
        self.redis.cli("HSET", "duid:" + duid, "ip6", "2001:db8:1::20")
        (event,) = self.bound(Dhclient6(self.cli, "-1").start(), server=self.server)
        self.assertEqual(event.address, "2001:db8:1::20")

    def test_malformed_dhcpv6_is_dropped_and_counted_and_service_goes_on(self):
        self.cli.run(["python3", "-c", SEND], input=json.dumps([p.hex() for p in MALFORMED] * 20))
        (event,) = self.bound(Dhclient6(self.cli, "-1").start(), server=self.server)
        self.assertTrue(in_range(event.address), event.address)
        self.assertTrue(self.server.alive())
        found = [line for line in self.metrics().splitlines()
                 if line.startswith("apidhcpd_dhcp6") and "malformed" in line]
        counted = sum(float(line.rsplit(" ", 1)[1]) for line in found)
        self.assertGreaterEqual(counted, 20 * len(MALFORMED), found)

    def test_dhcpcd_gets_an_address(self):
        events, log = run_dhcpcd6(self.cli)
        bound = [e for e in events if e.get("reason") == "BOUND6"]
        self.assertTrue(bound, log + self.server.log())
        address = bound[0].get("new_dhcp6_ia_na1_ia_addr1")
        self.assertTrue(in_range(address), bound[0])
        self.assertEqual(bound[0].get("new_dhcp6_name_servers"), "2001:db8::53")


class ReclaimTests(Dhcp6TestCase):
    """An expired DHCPv6 lease is reclaimed (--reclaim-interval, 1 s in the tests): its
    lease6: record and its place in leases6 go, its address back to the pool."""

    def setUp(self):
        super().setUp()
        self.redis.cli("HSET", "subnet6:2001:db8:1::/64", "valid-lifetime", "3s",
                       "preferred-lifetime", "2s", "t1", "1s", "t2", "2s")
        self.server = self.start()
        self.cli = self.client()

    def test_an_expired_lease_is_reclaimed(self):
        client = Dhclient6(self.cli, "-1").start()
        (event,) = self.bound(client, server=self.server)
        client.stop()  # gone without a RELEASE: its lease runs out
        key = "lease6:" + event.address
        self.assertEqual(self.redis.cli("EXISTS", key).strip(), "1")
        deadline = time.monotonic() + 15
        while self.redis.cli("EXISTS", key).strip() == "1":
            self.assertLess(time.monotonic(), deadline, "%s never reclaimed" % key)
            time.sleep(0.2)
        self.assertEqual(self.redis.cli("ZSCORE", "leases6", event.address).strip(), "")
