"""A real DHCPv6 client on the wire: ISC `dhclient -6` in one namespace solicits, a plain UDP
socket on [::]:547 joined to ff02::1:2 in another receives, and apidhcpd.dhcp6.codec reads
what it got (and the construct definitions read it alike)."""

import os
import sys
import time

from twisted.trial import unittest

from apidhcpd.dhcp6.codec import decode, encode
from apidhcpd.dhcp6.message import Message
from apidhcpd.dhcp6.options import DUIDType, MessageType, OptionCode
from tests.integration import clients
from tests.integration.clients6 import enable_ipv6
from tests.integration.netns import make_lan, require_root_and_tools
from tests.test_dhcp6_codec import as_spec, spec_decode

# Bind [::]:547, join All_DHCP_Relay_Agents_and_Servers on the interface, then write one
# line per datagram ("<source> <port> <hex>") until the time is up or enough have come.
LISTENER = r"""
import socket, struct, sys, time
iface, out, seconds, wanted = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::", 547))
group = socket.inet_pton(socket.AF_INET6, "ff02::1:2")
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
             group + struct.pack("@I", socket.if_nametoindex(iface)))
open(out + ".ready", "w").close()
deadline = time.monotonic() + seconds
got = 0
with open(out, "w") as f:
    while got < wanted and time.monotonic() < deadline:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data, source = s.recvfrom(65535)
        except socket.timeout:
            break
        f.write("%s %d %s\n" % (source[0], source[1], data.hex()))
        f.flush()
        got += 1
"""

HOOK = "#!/bin/sh\nexit 0\n"


def wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def read_lines(path):
    try:
        with open(path) as f:
            return [line.split() for line in f if line.endswith("\n")]
    except OSError:
        return []


class DhclientSolicitTests(unittest.TestCase):
    timeout = 60

    def setUp(self):
        require_root_and_tools(self, "dhclient", "unshare", "sysctl")
        self.lan = make_lan(self)  # torn down (processes killed, namespaces deleted) always
        self.srv = self.lan.add_host("srv6")
        self.cli = self.lan.add_host("cli6")
        enable_ipv6(self.srv)
        enable_ipv6(self.cli)

    def listen(self, wanted, seconds):
        out = os.path.join(self.lan.mkdtemp("listener"), "datagrams")
        self.srv.spawn([sys.executable, "-c", LISTENER, self.srv.iface, out, str(seconds),
                        str(wanted)])
        self.assertTrue(wait_for(lambda: os.path.exists(out + ".ready"), 10),
                        "the listener did not bind")
        return out

    def dhclient(self):
        """dhclient -6 -1 with its own config, lease and pid files in a temp dir, DUID-LL."""
        wd = self.lan.mkdtemp("dhclient6")
        conf = os.path.join(wd, "dhclient6.conf")
        with open(conf, "w") as f:
            f.write("request dhcp6.name-servers, dhcp6.domain-search;\n")
        hook = os.path.join(wd, "hook.sh")
        with open(hook, "w") as f:
            f.write(HOOK)
        os.chmod(hook, 0o755)
        leases = os.path.join(wd, "dhclient6.leases")
        open(leases, "w").close()
        argv = ["dhclient", "-6", "-1", "-v", "-d", "-D", "LL", "-cf", conf, "-lf", leases,
                "-pf", os.path.join(wd, "dhclient6.pid"), "-sf", hook, self.cli.iface]
        log = open(os.path.join(wd, "client.log"), "w")
        self.addCleanup(log.close)
        return self.cli.spawn(clients.isolated_argv(argv), env=clients.CLIENT_ENV, stdout=log)

    def test_solicits_decode(self):
        out = self.listen(wanted=2, seconds=15)
        proc = self.dhclient()
        try:
            # the first SOLICIT at once, its retransmission about a second later
            wait_for(lambda: len(read_lines(out)) >= 2, 10)
        finally:
            proc.kill()  # the unshare wrapper, by PID; --kill-child takes dhclient along
            proc.wait(timeout=5)
        lines = read_lines(out)
        self.assertGreaterEqual(len(lines), 1, "no datagram reached [::]:547")

        mac = bytes.fromhex(self.cli.mac.replace(":", ""))
        solicits = []
        for source, port, hexdata in lines:
            data = bytes.fromhex(hexdata)
            self.assertTrue(source.startswith("fe80::"), source)
            self.assertEqual(port, "546")
            m = decode(data)
            self.assertIsInstance(m, Message)
            self.assertEqual(as_spec(m), spec_decode(data))  # the specification agrees
            self.assertEqual(encode(m), data)
            self.assertEqual(m.msg_type, MessageType.SOLICIT)
            found = m.client_duid
            self.assertEqual(found.type, DUIDType.LL)
            self.assertEqual(found.link_layer, mac)
            self.assertEqual(m.mac, self.cli.mac)
            (ia,) = m.ias_na
            self.assertEqual(ia.code, OptionCode.IA_NA)
            self.assertEqual(ia.addresses, ())
            self.assertLessEqual({OptionCode.DNS_SERVERS, OptionCode.DOMAIN_LIST}, set(m.oro))
            self.assertIsNotNone(m.elapsed_time)
            self.assertIsNone(m.server_id)
            solicits.append(m)
        if len(solicits) == 2:  # a retransmission: same transaction, same IA, later
            first, again = solicits
            self.assertEqual(again.transaction_id, first.transaction_id)
            self.assertEqual(again.client_id, first.client_id)
            self.assertEqual(again.ias_na, first.ias_na)
            self.assertGreater(again.elapsed_time, first.elapsed_time)

    def test_the_socket_is_plain_udp(self):
        """The listener needs nothing of apidhcpd: a datagram from the other namespace to
        ff02::1:2 port 547 arrives as sent (checks the rig, not the codec)."""
        out = self.listen(wanted=1, seconds=10)
        payload = encode(Message(MessageType.INFORMATION_REQUEST, 0x010203,
                                 [(OptionCode.ELAPSED_TIME, b"\x00\x00")]))
        sender = ("import socket, sys; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); "
                  "s.sendto(bytes.fromhex(sys.argv[1]), "
                  "('ff02::1:2%%%s', 547))" % self.cli.iface)
        self.cli.run([sys.executable, "-c", sender, payload.hex()])
        self.assertTrue(wait_for(lambda: read_lines(out), 10))
        (_, _, hexdata), = read_lines(out)
        self.assertEqual(decode(bytes.fromhex(hexdata)),
                         Message(11, 0x010203, [(8, b"\x00\x00")]))
