"""Network boot against real clients in namespaces: ISC dhclient (as a PXE client) is given
next-server, filename, server-name and option 60 back; a raw BOOTP request (no option 53,
built by rawclient.py, not our codec) from a reserved host gets a BOOTREPLY, with or without
the RFC 1048 magic cookie (an RFC 951 ROM's vendor area of zeros), and one from an unknown host
gets nothing."""

from tests.integration import clients
from tests.integration.netns import random_mac
from tests.integration.rawclient import (
    OPT_DNS,
    OPT_LEASE_TIME,
    OPT_MSG_TYPE,
    OPT_ROUTER,
    OPT_SERVER_ID,
    OPT_SUBNET,
    RawClient,
    build_packet,
    new_xid,
)
from tests.integration.test_dhcp import ServerTestCase

BOOT = {"next-server": "192.0.2.5", "boot-file": "pxelinux.0",
        "server-name": "tftp.example.test"}
PXE = "PXEClient:Arch:00000:UNDI:002001"


class BootTests(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.redis.cli("HSET", "group:default", *[x for kv in BOOT.items() for x in kv])
        self.redis.cli("HSET", "mac:" + self.cli.mac, "ip", "192.0.2.10", "hostname", "node")
        self.server = self.start()

    def test_dhclient_gets_next_server_and_filename(self):
        lease = clients.run_dhclient(self.cli, extra_conf=[
            'send vendor-class-identifier "%s";' % PXE,
            "also request vendor-class-identifier;"])
        self.assertTrue(lease.ok, lease.log)
        self.assertEqual(lease.ip, "192.0.2.10")
        text = lease.lease_text
        self.assertIn('filename "pxelinux.0";', text)
        # dhclient 4.4 keeps siaddr out of its lease file; its script gets it
        self.assertEqual(lease.env.get("new_next_server"), "192.0.2.5", sorted(lease.env))
        self.assertEqual(lease.env.get("new_filename"), "pxelinux.0")
        self.assertIn('server-name "tftp.example.test";', text)
        self.assertIn('option vendor-class-identifier "PXEClient";', text)

    def test_a_raw_bootp_request_gets_a_bootreply(self):
        xid = new_xid()
        packet = build_packet(None, self.cli.mac, xid)  # no option 53: BOOTP
        self.assertEqual(len(packet), 300)
        replies = RawClient(self.cli).send(packet, wait=2.0, max_replies=1)
        self.assertEqual(len(replies), 1, self.server.log())
        reply = replies[0]
        self.assertEqual(len(reply.data), 300)
        bootreply = reply.packet
        self.assertEqual((bootreply.op, bootreply.xid, bootreply.msg_type), (2, xid, None))
        self.assertEqual((bootreply.yiaddr, bootreply.siaddr, bootreply.file, bootreply.sname),
                         ("192.0.2.10", "192.0.2.5", b"pxelinux.0", b"tftp.example.test"))
        self.assertEqual((bootreply.subnet_mask, bootreply.routers, bootreply.dns,
                          bootreply.hostname), ("255.255.255.0", ["192.0.2.1"],
                                                ["192.0.2.53"], "node"))
        for absent in (OPT_MSG_TYPE, OPT_SERVER_ID, OPT_LEASE_TIME):
            self.assertNotIn(absent, bootreply.options)
        self.assertEqual(sorted(bootreply.options)[:3], [OPT_SUBNET, OPT_ROUTER, OPT_DNS])
        self.assertIn("BOOTP from %s xid=%08x -> bootreply 192.0.2.10" % (self.cli.mac, xid),
                      self.server.log())

    def test_an_rfc951_request_without_the_magic_cookie_gets_a_bootreply(self):
        """An RFC 951 ROM's request: the header and 64 bytes of zeros where the cookie and
        options would be. The reply carries the RFC 1497 vendor area, cookie first."""
        xid = new_xid()
        packet = build_packet(None, self.cli.mac, xid)[:236] + bytes(64)
        self.assertEqual(len(packet), 300)
        replies = RawClient(self.cli).send(packet, wait=2.0, max_replies=1)
        self.assertEqual(len(replies), 1, self.server.log())
        self.assertEqual((len(replies[0].data), replies[0].data[236:240]),
                         (300, bytes.fromhex("63825363")))
        bootreply = replies[0].packet
        self.assertEqual((bootreply.op, bootreply.xid, bootreply.msg_type, bootreply.yiaddr,
                          bootreply.file), (2, xid, None, "192.0.2.10", b"pxelinux.0"))
        self.assertEqual((bootreply.subnet_mask, bootreply.routers),
                         ("255.255.255.0", ["192.0.2.1"]))
        self.assertIn("BOOTP from %s xid=%08x -> bootreply 192.0.2.10" % (self.cli.mac, xid),
                      self.server.log())

    def test_a_bootp_request_from_an_unknown_host_gets_nothing(self):
        mac = random_mac()
        replies = RawClient(self.cli).send(build_packet(None, mac, new_xid()), wait=1.5)
        self.assertEqual(replies, [])
        self.server.wait_for("BOOTP from %s" % mac)
        self.assertIn("BOOTP from a host without a reservation", self.server.log())
