"""A real firmware boots from apidhcpd: a QEMU guest's iPXE option ROM (Debian's ipxe-qemu,
on a BIOS machine, TCG) does DHCP on a tap port of the test's bridge, gets its reservation,
next-server and boot file, and fetches the file by TFTP (tftpd-hpa); with the chain-loading
rule written as classes, the same ROM (iPXE, user class ``iPXE``, arch 0) is sent an HTTP URL
instead and fetches it from an HTTP server in the namespace. On UEFI (Debian's OVMF), the
firmware's own PXE client loads ``ipxe.efi`` by TFTP, or its UEFI HTTP boot client loads it
by HTTP from the URL a class gives ``HTTPClient`` clients; then iPXE gets its HTTP script.

The boot files are iPXE scripts that print a marker on the serial console with the settings
iPXE holds (address, next-server, filename), so what the firmware understood is read from the
firmware. Each boot is bounded (``BOOT_TIMEOUT``); QEMU is stopped by its PID; the Lan's
teardown removes the namespaces, the tap device and every process in them.
"""

import os
import shutil
import unittest as pyunit

from twisted.trial import unittest

from tests.integration import qemu
from tests.integration.apidhcpd import ServerProcess, seed
from tests.integration.netns import make_lan, random_mac, require_root_and_tools
from tests.redisserver import shared_redis

BOOT_TIMEOUT = 90.0
IPXE_EFI = "/usr/lib/ipxe/ipxe.efi"  # Debian ipxe
RESERVED = "192.0.2.20"
# what the boot scripts print: iPXE expands the settings it holds
SHOW = "${net0/ip} ${next-server} ${filename}"


class NetbootTests(unittest.TestCase):
    timeout = 180

    def setUp(self):
        require_root_and_tools(self, "redis-server")
        gone = qemu.missing()
        if gone:
            raise pyunit.SkipTest("missing for the QEMU boot: %s" % ", ".join(gone))
        self.redis = shared_redis("netboot")
        self.redis.flushall()
        seed(self.redis)
        self.lan = make_lan(self)
        self.srv = self.lan.add_host("srv", "192.0.2.1/24")
        self.mac = random_mac()
        self.redis.cli("HSET", "mac:" + self.mac, "ip", RESERVED, "hostname", "node1",
                       "group", "netboot")
        self.root = self.lan.mkdtemp("boot")
        os.chmod(self.root, 0o755)
        self.tftp = qemu.Tftpd(self.srv, self.root)
        self.addCleanup(self.tftp.close)

    def group(self, **fields):
        self.redis.cli("HSET", "group:netboot", "gateway", "192.0.2.1", "prefix", "24",
                       *[x for k, v in fields.items() for x in (k.replace("_", "-"), v)])

    def boot(self, marker, uefi=False, fw_cfg=None):
        """Start apidhcpd and the guest; wait for ``marker`` on its console; stop QEMU."""
        server = ServerProcess(self.srv, self.redis.unix_url)
        vm = qemu.VirtualMachine(self.lan, self.mac, uefi=uefi, memory=256 if uefi else 128,
                                 fw_cfg=fw_cfg)
        try:
            # the line's last word: the whole line is on the console
            elapsed = vm.wait_console(marker + "-end", BOOT_TIMEOUT)
        finally:
            vm.stop()
        self.assertFalse(vm.proc.poll() is None, "qemu still running")
        line = [x for x in vm.console().splitlines() if x.startswith(marker + " ")][-1]
        return server, vm, line.split()[1:-1], elapsed

    def test_the_pxe_rom_gets_its_reservation_and_fetches_its_boot_file_by_tftp(self):
        self.group(next_server="192.0.2.1", boot_file="stage1.ipxe")
        qemu.write_script(self.root, "stage1.ipxe", "echo TFTP-BOOTED %s TFTP-BOOTED-end\n" % SHOW)
        server, vm, line, elapsed = self.boot("TFTP-BOOTED")
        self.assertEqual(line, [RESERVED, "192.0.2.1", "stage1.ipxe"])
        self.assertIn("net0: %s/255.255.255.0 gw 192.0.2.1" % RESERVED, vm.console())
        self.assertEqual(self.tftp.wait_requests(), ["stage1.ipxe"])
        self.assertIn("from %s" % self.mac, server.log())
        self.assertIn("-> ack %s" % RESERVED, server.log())
        print("\nnetboot: TFTP boot file run %.1f s after QEMU started (%s)" % (
            elapsed, qemu.accel()))

    def test_ipxe_gets_the_http_script_of_the_chain_loading_rule(self):
        http = qemu.HttpServer(self.srv, self.root)
        self.addCleanup(http.close)
        url = "%s/boot.ipxe" % http.url
        # the classic rule: firmware gets a TFTP file, iPXE itself gets the HTTP script
        # as docs/boot.md writes it: discovery control 8 for every PXE client
        self.group(next_server="192.0.2.1", boot_file="firmware.ipxe", pxe_discovery_control="8")
        self.put_class("bios", match_arch="0", boot_file="undionly.ipxe")
        self.put_class("ipxe", match_user_class="iPXE", priority="10", boot_file=url)
        for name in ("firmware.ipxe", "undionly.ipxe"):
            qemu.write_script(self.root, name, "echo WRONG-FILE %s\n" % name)
        qemu.write_script(self.root, "boot.ipxe", "echo HTTP-BOOTED %s HTTP-BOOTED-end\n" % SHOW)
        server, vm, line, elapsed = self.boot("HTTP-BOOTED")
        self.assertEqual(line, [RESERVED, "192.0.2.1", url])
        self.assertEqual(http.requests(), ["/boot.ipxe"])
        self.assertEqual(self.tftp.requests(), [])
        self.assertNotIn("WRONG-FILE", vm.console())
        self.assertIn("-> ack %s" % RESERVED, server.log())
        print("\nnetboot: HTTP script run %.1f s after QEMU started (%s)" % (
            elapsed, qemu.accel()))

    def uefi_chain(self, **group):
        """The chain on UEFI: the firmware's PXE client (arch 7, no user class) gets ipxe.efi
        by TFTP, ipxe.efi (user class iPXE) gets the HTTP script."""
        gone = qemu.missing_uefi() + [p for p in (IPXE_EFI,) if not os.path.exists(p)]
        if gone:
            raise pyunit.SkipTest("missing for the UEFI boot: %s" % ", ".join(gone))
        http = qemu.HttpServer(self.srv, self.root)
        self.addCleanup(http.close)
        url = "%s/boot.ipxe" % http.url
        self.group(next_server="192.0.2.1", boot_file="firmware.ipxe", **group)
        self.put_class("uefi", match_arch="7,9", boot_file="ipxe.efi")
        self.put_class("ipxe", match_user_class="iPXE", priority="10", boot_file=url)
        shutil.copyfile(IPXE_EFI, os.path.join(self.root, "ipxe.efi"))
        os.chmod(os.path.join(self.root, "ipxe.efi"), 0o644)
        qemu.write_script(self.root, "firmware.ipxe", "echo WRONG-FILE firmware.ipxe\n")
        qemu.write_script(self.root, "boot.ipxe", "echo HTTP-BOOTED %s HTTP-BOOTED-end\n" % SHOW)
        proxy = qemu.Capture(self.srv, "udp", "port", "4011")
        self.addCleanup(proxy.close)
        _, vm, line, elapsed = self.boot("HTTP-BOOTED", uefi=True)
        self.assertIn("Station IP address is %s" % RESERVED, vm.console())  # EDK2's PXE
        self.assertEqual(line, [RESERVED, "192.0.2.1", url])
        self.assertEqual(set(self.tftp.wait_requests()), {"ipxe.efi"})
        self.assertEqual(http.requests(), ["/boot.ipxe"])
        # ipxe.efi took no offer for a ProxyDHCP one (no PXEClient echo to iPXE): it asked
        # nobody on port 4011 (which cost it four tries, 12-15 s)
        self.assertEqual([p for p in proxy.packets() if ".4011" in p], [])
        print("\nnetboot: UEFI -> ipxe.efi -> HTTP script run %.1f s after QEMU started (%s)" % (
            elapsed, qemu.accel()))

    def test_a_uefi_firmware_loads_ipxe_by_tftp_and_ipxe_the_http_script(self):
        # pxe-discovery-control 8 written in the inventory (PXE sub-option 6 bit 3: boot the
        # file of this offer, no discovery)
        self.uefi_chain(pxe_discovery_control="8")

    def test_a_uefi_firmware_boots_without_option_43(self):
        # none in the inventory: the server sends discovery control 8 with the PXEClient echo;
        # without it EDK2 takes the offer for a BINL one, asks port 4011 and stops (PXE-E16)
        self.uefi_chain()

    def test_a_uefi_firmware_http_boots_ipxe_and_ipxe_the_http_script(self):
        """UEFI HTTP boot (UEFI specification, "HTTP Boot"), with OVMF's own HTTP client.

        Debian's OVMF is built with HttpBootDxe: each NIC gets UEFI PXE boot options and,
        after them, "UEFI HTTPv4" and "UEFI HTTPv6", all under the NIC's ``bootindex``. The
        HTTP ones come first when OVMF's fw_cfg knobs ``opt/org.tianocore/IPv4PXESupport``
        and ``IPv6PXESupport`` are ``n`` (``qemu.NO_UEFI_PXE``): the PXE driver then binds no
        NIC, and the firmware prints ``>>Start HTTP Boot over IPv4``. Nothing to prepare and
        no timeout to wait out, unlike the other ways (letting PXE fail first, or a variable
        store whose BootOrder puts HTTP first).

        The firmware sends option 60 ``HTTPClient:Arch:00016:UNDI:003000`` and option 93 = 16;
        the class ``httpboot`` (``match-vendor-class HTTPClient*``, ``match-arch 16``) gives
        the URL of ``ipxe.efi`` as the boot file, and the server echoes option 60 ``HTTPClient``
        (without the echo EDK2 does not take the offer for an HTTP boot one). The firmware
        fetches the URL (HEAD, then GET) from the HTTP server in the namespace and runs it;
        iPXE then does DHCP itself (user class ``iPXE``, arch 7), gets the script URL of the
        class ``ipxe`` and runs it. Nothing goes by TFTP and no ``siaddr`` is set.
        """
        gone = qemu.missing_uefi() + [p for p in (IPXE_EFI,) if not os.path.exists(p)]
        if gone:
            raise pyunit.SkipTest("missing for the UEFI boot: %s" % ", ".join(gone))
        http = qemu.HttpServer(self.srv, self.root)
        self.addCleanup(http.close)
        dhcp = qemu.Capture(self.srv, "udp", "port", "67")
        self.addCleanup(dhcp.close)
        proxy = qemu.Capture(self.srv, "udp", "port", "4011")
        self.addCleanup(proxy.close)
        efi_url, script_url = http.url + "/ipxe.efi", http.url + "/boot.ipxe"
        self.group(boot_file="firmware.ipxe")  # what a client matching no class would get
        self.put_class("httpboot", match_vendor_class="HTTPClient*", match_arch="16",
                       boot_file=efi_url)
        self.put_class("ipxe", match_user_class="iPXE", priority="10", boot_file=script_url)
        shutil.copyfile(IPXE_EFI, os.path.join(self.root, "ipxe.efi"))
        os.chmod(os.path.join(self.root, "ipxe.efi"), 0o644)
        qemu.write_script(self.root, "firmware.ipxe", "echo WRONG-FILE firmware.ipxe\n")
        qemu.write_script(self.root, "boot.ipxe",
                          "echo HTTP-BOOTED ${net0/ip} ${filename} HTTP-BOOTED-end\n")
        server, vm, line, elapsed = self.boot("HTTP-BOOTED", uefi=True, fw_cfg=qemu.NO_UEFI_PXE)
        console = vm.console()
        # EDK2's HTTP boot client, not its PXE client, took the first offer
        self.assertIn(">>Start HTTP Boot over IPv4", console)
        self.assertNotIn(">>Start PXE", console)
        self.assertIn("Station IP address is %s" % RESERVED, console)
        self.assertIn("URI: %s" % efi_url, console)
        self.assertEqual(line, [RESERVED, script_url])  # iPXE's own DHCP, then the script
        self.assertEqual(http.requests(), ["/ipxe.efi", "/boot.ipxe"])
        self.assertEqual(self.tftp.requests(), [])
        self.assertEqual([p for p in proxy.packets() if ".4011" in p], [])  # see uefi_chain
        # on the wire: the firmware said HTTPClient arch 16, each answer echoed HTTPClient
        # with the URL in `file` and no next-server
        packets = dhcp.packets()
        asked = [p for p in packets if '"HTTPClient:Arch:00016' in p]
        self.assertTrue(asked, "no DHCP request with HTTPClient:Arch:00016:\n%s" % dhcp.text())
        self.assertTrue(all("ARCH (93), length 2: 16" in p for p in asked))
        xid = qemu.xid(asked[0])
        answers = [p for p in packets if "Reply" in p and qemu.xid(p) == xid]
        self.assertEqual(len(answers), 2, "an OFFER and an ACK:\n%s" % dhcp.text())
        for answer in answers:
            self.assertIn('Vendor-Class (60), length 10: "HTTPClient"', answer)
            self.assertIn('file "%s"' % efi_url, answer)
            self.assertNotIn("Server-IP", answer)
        self.assertIn("-> ack %s" % RESERVED, server.log())
        print("\nnetboot: UEFI HTTP boot -> ipxe.efi -> HTTP script run %.1f s after QEMU "
              "started (%s)" % (elapsed, qemu.accel()))

    def put_class(self, name, **fields):
        self.redis.cli("HSET", "class:" + name,
                       *[x for k, v in fields.items() for x in (k.replace("_", "-"), v)])
        self.redis.cli("SADD", "classes", name)

