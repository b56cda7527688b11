"""Client classes against a real client: ISC dhclient sending option 60, 77 and 93 (its
`send` statements) gets the class's options, its address from the class's range and its lease
time; a client matching no class gets the group's."""

from tests.integration import clients
from tests.integration.test_dhcp import ServerTestCase

# dhclient knows 60 and 77 by name; 93 (RFC 4578) is declared for it
SENDS = ["option client-arch code 93 = unsigned integer 16;",
         'send vendor-class-identifier "PXEClient:Arch:00007:UNDI:003016";',
         'send user-class "iPXE";',
         "send client-arch 7;",
         "also request ntp-servers;"]


class DhclientClassTests(ServerTestCase):
    def setUp(self):
        super().setUp()
        # as an operator writing by hand does: the hash and its name in the `classes` index
        # (the API and apidhcpd-cli write both)
        self.redis.cli("HSET", "class:uefi-ipxe", "match-vendor-class", "PXEClient:Arch:00007*",
                       "match-user-class", "iPXE", "match-arch", "7,9",
                       "dns", "192.0.2.77", "ntp", "192.0.2.123",
                       "range", "192.0.2.251-192.0.2.252", "lease-time", "2h")
        self.redis.cli("HSET", "class:bios", "match-arch", "0", "dns", "192.0.2.78")
        self.redis.cli("SADD", "classes", "uefi-ipxe", "bios")
        self.server = self.start()

    def test_a_client_in_a_class_gets_its_options_and_others_the_groups(self):
        lease = clients.run_dhclient(self.cli, extra_conf=SENDS)
        self.assertTrue(lease.ok, lease.log)
        self.assertEqual(lease.dns, ["192.0.2.77"])
        self.assertEqual(lease.env.get("new_ntp_servers"), "192.0.2.123")
        self.assertEqual((lease.ip, lease.lease_time), ("192.0.2.251", 7200))
        other = self.lan.add_host("cli2")
        plain = clients.run_dhclient(other, extra_conf=["also request ntp-servers;"])
        self.assertTrue(plain.ok, plain.log)
        self.assertEqual(plain.dns, ["192.0.2.53", "192.0.2.54"])  # group:pool's
        self.assertNotEqual(plain.env.get("new_ntp_servers"), "192.0.2.123")
        self.assertNotIn(plain.ip, (None, "192.0.2.251", "192.0.2.252"))  # group:pool's range
        self.assertNotEqual(plain.lease_time, 7200)
