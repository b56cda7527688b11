"""A hostile client LAN behind a real relay (ISC dhcrelay): spoofed giaddr and RFC 8357 port,
option 82 written by a client, while the relay's own clients keep being served."""

import threading
import time

from twisted.trial import unittest

from tests.integration import clients
from tests.integration.apidhcpd import ServerProcess
from tests.integration.netns import random_mac, require_root_and_tools
from tests.integration.rawclient import RawClient, build_packet, client_options
from tests.integration.test_relay import relayed_lans

SUBNETS = [
    ("group:default", {"dns": "192.0.2.53", "lease-time": "1h"}),
    ("subnet:198.51.100.0/24", {"gateway": "198.51.100.1", "range": "198.51.100.10-198.51.100.20",
                                "lease-time": "20m"}),
    ("subnet:192.0.2.0/24", {"gateway": "192.0.2.1", "range": "192.0.2.100-192.0.2.120"}),
    ("relay:sw1/7", {"ip": "192.0.2.7", "hostname": "port7"}),  # a switch port's reservation
]
PORT = 5353  # the victim's service, and the source port the attacker sends from
SUB_SOURCE_PORT = bytes([19, 0])  # RFC 8357: "answer to my source port"


def relay_info(*subs):
    return b"".join(bytes([code, len(value)]) + value for code, value in subs)


class HostileLanTests(unittest.TestCase):
    timeout = 120

    def setUp(self):
        require_root_and_tools(self, "dhclient", "dhcrelay", "redis-server")
        # server LAN 192.0.2.0/24 <- relay (a router) -> client LAN 198.51.100.0/24
        relayed_lans(self, "hostile", SUBNETS)
        self.relay.run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
        self.relay.spawn(["dhcrelay", "-4", "-d", "--no-pid", "-a", "-id", "eth1",
                          "-iu", "eth0", "192.0.2.1"])
        self.remote = self.client_lan.add_host("cli")
        self.mallory = self.client_lan.add_host("mallory", "198.51.100.66/24")
        self.mallory.run(["ip", "route", "add", "default", "via", "198.51.100.1"])
        self.victim = self.server_lan.add_host("victim", "192.0.2.77/24")
        self.server = ServerProcess(self.srv, self.redis.unix_url)

    def listen(self, host, port, seconds):
        """What `host` receives on UDP `port` for `seconds`, collected in a thread."""
        got = []
        thread = threading.Thread(target=lambda: got.extend(
            RawClient(host).send([], wait=seconds, sport=port)))
        thread.start()
        time.sleep(0.5)  # the listener has bound its socket
        return thread, got

    def test_spoofed_giaddr_and_port_reach_no_one_and_relayed_clients_are_served(self):
        thread, victim_got = self.listen(self.victim, PORT, 5)
        mac = random_mac()
        spoofed = [
            # the victim as giaddr, the victim's port as RFC 8357 source port
            build_packet(1, mac, 1, client_options() + [(82, relay_info(
                (1, b"x"), (19, b"")))], flags=0, giaddr="192.0.2.77", hops=1),
            # the same with ~1 KB of option 82 for the reply to echo (and option 57 to allow it)
            build_packet(1, mac, 2, client_options() + [(57, (1500).to_bytes(2, "big")),
                                                        (82, relay_info(*[(1, b"c" * 250)] * 4,
                                                                        (19, b"")))],
                         flags=0, giaddr="192.0.2.77", hops=1),
            # a broadcast giaddr: the reply would go to everyone on the server LAN
            build_packet(1, mac, 3, client_options() + [(82, relay_info((19, b"")))],
                         flags=0, giaddr="255.255.255.255", hops=1),
        ]
        # from the client LAN, through the router, straight to the server
        mallory = RawClient(self.mallory)
        mallory.send(spoofed, dest="192.0.2.1", sport=PORT, wait=1.0)
        # the control: naming its own address as giaddr, mallory is a relay, and is answered
        own = build_packet(1, mac, 4, client_options() + [(82, relay_info((19, b"")))],
                           flags=0, giaddr="198.51.100.66", hops=1)
        answered = mallory.send(own, dest="192.0.2.1", sport=PORT, wait=2.0)
        thread.join()
        log = self.server.log()
        self.assertEqual([r.packet.xid for r in victim_got], [], log)
        self.assertIn(4, [r.packet.xid for r in answered if r.sport == 67], log)
        self.assertIn("giaddr 255.255.255.255 is no relay's address", log)
        lease = clients.run_dhclient(self.remote)
        self.assertTrue(lease.ok, lease.log + self.server.log())
        self.assertTrue(lease.ip.startswith("198.51.100."), lease.ip)

    def test_a_client_on_the_servers_lan_cannot_claim_a_switch_ports_reservation(self):
        local = self.server_lan.add_host("local")
        offers = RawClient(local).discover(extra=[(82, relay_info((1, b"sw1/7")))])
        self.assertEqual(len(offers), 1, self.server.log())
        self.assertNotEqual(offers[0].yiaddr, "192.0.2.7")
        self.assertTrue(offers[0].yiaddr.startswith("192.0.2.1"), offers[0].yiaddr)
        self.assertNotIn(82, offers[0].options)
