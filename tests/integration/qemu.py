"""A network-booting QEMU virtual machine, and the TFTP and HTTP servers it boots from.

What it knows: how to plug a QEMU guest into a :class:`~.netns.Lan` (a tap device on the
Lan's bridge, created inside the switch namespace, so the root namespace is never touched),
how to start ``in.tftpd`` (tftpd-hpa) and ``python -m http.server`` in a host namespace, and
how to watch what each of them saw (the guest's serial console, an RRQ seen by tcpdump, the
HTTP server's request log). What it must not know: anything about apidhcpd or its inventory.

The guest is a BIOS machine (SeaBIOS) whose NIC carries the iPXE option ROM of Debian's
``ipxe-qemu``, or a UEFI machine (Debian's ``ovmf``) whose own PXE client boots; with
``-nographic`` the firmware and iPXE print to the serial port, which is written to a file.
Everything is bounded in time, and the guest is stopped by its PID.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time

from tests.integration.netns import IP, missing_tools

QEMU = "qemu-system-x86_64"
ROM_DIR = "/usr/lib/ipxe/qemu"
BIOS_ROM = os.path.join(ROM_DIR, "pxe-virtio.rom")
TFTPD = "in.tftpd"
# UEFI (OVMF, EDK2): its own virtio-net driver and PXE client, no iPXE ROM
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS.fd"
# OVMF's fw_cfg knobs (OvmfPkg's PlatformDxe reads them at boot): with its PXE clients off,
# the NIC's boot options are its UEFI HTTP boot ones (HttpBootDxe, in Debian's build)
NO_UEFI_PXE = {"opt/org.tianocore/IPv4PXESupport": "n", "opt/org.tianocore/IPv6PXESupport": "n"}
# what the firmware prints when it has nothing (more) to boot from the network: iPXE's
# last words, EDK2's PXE client finding no offer it can use, EDK2's boot manager failing
# a boot option (an HTTP boot that got no usable offer or no file)
GAVE_UP = ("No more network devices", "PXE-E16", "BdsDxe: failed to load")


def missing():
    """What this rig needs and this machine lacks (for a clean skip)."""
    gone = missing_tools(QEMU, TFTPD, "tcpdump")
    if not os.path.exists(BIOS_ROM):
        gone.append(BIOS_ROM + " (ipxe-qemu)")
    if not os.path.exists("/dev/net/tun"):
        gone.append("/dev/net/tun")
    return gone


def missing_uefi():
    """What the UEFI boot needs and this machine lacks (Debian ovmf)."""
    return [p for p in (OVMF_CODE, OVMF_VARS) if not os.path.exists(p)]


def accel():
    """TCG unless ADH_QEMU_ACCEL says otherwise (nested KVM can hang on test machines)."""
    return os.environ.get("ADH_QEMU_ACCEL", "tcg")


def _read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def wait_until(predicate, timeout, what, step=0.2):
    """Poll ``predicate`` until it returns something true, at most ``timeout`` seconds.

    ``what`` names what is awaited: a string, or a callable giving one (read at the end)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(step)
    raise AssertionError("timed out after %.0f s waiting for %s" % (
        timeout, what() if callable(what) else what))


def _stop(proc, grace=3.0):
    """SIGTERM then SIGKILL the one process we started, by its PID."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace)


class VirtualMachine:
    """A QEMU guest booting from the network on a tap port of ``lan``'s bridge.

    QEMU runs in the switch namespace, where its tap device is a port of the bridge: the
    guest sits on the Lan like any host namespace. ``ip netns exec`` execs QEMU itself, so
    ``proc.pid`` is QEMU's PID.
    """

    def __init__(self, lan, mac, name="vm0", rom=BIOS_ROM, memory=128, uefi=False,
                 fw_cfg=None):
        """A BIOS guest whose NIC runs ``rom``; with ``uefi``, an OVMF guest whose NIC has
        no ROM, so that OVMF's own driver and PXE client boot it. ``fw_cfg``: {name: string}
        items the firmware reads (QEMU ``-fw_cfg name=...,string=...``), e.g. OVMF's knobs
        in :data:`NO_UEFI_PXE`."""
        self.lan = lan
        self.mac = mac
        self.tap = name
        wd = lan.mkdtemp("qemu")
        self.console_path = os.path.join(wd, "console.log")
        self.stderr_path = os.path.join(wd, "stderr.log")
        ns = lan.switch_ns
        subprocess.run([IP, "-n", ns, "tuntap", "add", "dev", name, "mode", "tap"],
                       check=True, timeout=10)
        subprocess.run([IP, "-n", ns, "link", "set", name, "master", "br0", "up"],
                       check=True, timeout=10)
        self.argv = [
            QEMU, "-accel", accel(), "-m", str(memory), "-nodefaults", "-no-user-config",
            "-nographic", "-monitor", "none", "-serial", "file:" + self.console_path,
            "-no-reboot", "-netdev", "tap,id=n0,ifname=%s,script=no,downscript=no" % name,
        ]
        if uefi:
            variables = os.path.join(wd, "OVMF_VARS.fd")  # the guest writes its variables
            shutil.copyfile(OVMF_VARS, variables)
            self.argv += [
                "-drive", "if=pflash,format=raw,readonly=on,file=" + OVMF_CODE,
                "-drive", "if=pflash,format=raw,file=" + variables,
                "-device", "virtio-net-pci,netdev=n0,mac=%s,romfile=,bootindex=1" % mac]
        else:
            # the ROM is built for the modern virtio-net device (1af4:1041): without
            # disable-legacy SeaBIOS sees 1af4:1000 and never runs it
            self.argv += [
                "-boot", "n",
                "-device", "virtio-net-pci,disable-legacy=on,netdev=n0,mac=%s,romfile=%s" % (
                    mac, rom)]
        for key, value in (fw_cfg or {}).items():
            self.argv += ["-fw_cfg", "name=%s,string=%s" % (key, value)]
        self.started = time.monotonic()
        with open(self.stderr_path, "w") as stderr:
            self.proc = subprocess.Popen([IP, "netns", "exec", ns] + self.argv,
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=stderr)
        lan.procs.append(self.proc)

    def console(self):
        """The serial console so far (SeaBIOS and iPXE messages)."""
        return _read(self.console_path)

    def wait_console(self, text, timeout):
        """Wait until ``text`` is on the console; fail early if QEMU exits or iPXE gives up."""
        def seen():
            console = self.console()
            if text in console:
                return True
            if any(words in console for words in GAVE_UP):
                raise AssertionError("the firmware gave up before %r:\n%s" % (text, console))
            if self.proc.poll() is not None:
                raise AssertionError("qemu exited (%s) before %r:\n%s\n%s" % (
                    self.proc.returncode, text, _read(self.stderr_path), self.console()))
            return False
        wait_until(seen, timeout, lambda: "%r on the guest console:\n%s" % (text, self.console()))
        return time.monotonic() - self.started

    def wait_exit(self, timeout):
        """Wait for the guest to power off (QEMU exits); the exit code."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        _stop(self.proc)


class Tftpd:
    """tftpd-hpa serving ``root`` (read only) on ``host``'s address, and a tcpdump watching RRQs.

    tftpd-hpa logs only to syslog, so the read requests are taken from tcpdump, which decodes
    a TFTP RRQ into its file name.
    """

    def __init__(self, host, root):
        self.host = host
        self.root = root
        wd = host.lan.mkdtemp("tftp")
        self.dump_path = os.path.join(wd, "tcpdump.txt")
        self.dump_out = open(self.dump_path, "w")
        # immediate mode: no waiting on a capture buffer to fill before a packet is printed
        self.dump = host.spawn(["tcpdump", "-n", "-l", "--immediate-mode", "-i", host.iface,
                                "udp", "port", "69"],
                               stdout=self.dump_out, stderr=subprocess.STDOUT)
        wait_until(lambda: "listening on" in _read(self.dump_path), 10, "tcpdump to start")
        self.proc = host.spawn([TFTPD, "--foreground", "--listen", "--secure", "--user", "root",
                                "--address", "%s:69" % host.ip, root])

    def requests(self):
        """The file names of the TFTP read requests seen so far."""
        names = []
        for line in _read(self.dump_path).splitlines():
            if " RRQ " in line:
                names.append(line.split(" RRQ ", 1)[1].split('"')[1])
        return names

    def wait_requests(self, timeout=5.0):
        """The read requests, once tcpdump has printed at least one (a failed wait: [])."""
        try:
            return wait_until(self.requests, timeout, "a TFTP read request")
        except AssertionError:
            return []

    def close(self):
        self.dump_out.close()


class Capture:
    """tcpdump on ``host``'s interface with a filter, verbose (``-vv`` decodes DHCP options)."""

    def __init__(self, host, *bpf):
        self.path = os.path.join(host.lan.mkdtemp("capture"), "tcpdump.txt")
        self.out = open(self.path, "w")
        host.spawn(["tcpdump", "-n", "-l", "-vv", "--immediate-mode", "-i", host.iface, *bpf],
                   stdout=self.out, stderr=subprocess.STDOUT)
        wait_until(lambda: "listening on" in _read(self.path), 10, "tcpdump to start")

    def text(self):
        return _read(self.path)

    def packets(self):
        """The packets so far, one text each: tcpdump's first line (not indented) and the
        decoded lines under it."""
        packets = []
        for line in self.text().splitlines():
            if line[:1] not in (" ", "\t"):
                packets.append(line)
            elif packets:
                packets[-1] += "\n" + line
        return packets

    def close(self):
        self.out.close()


def xid(packet):
    """The DHCP transaction id in a packet's text from :class:`Capture` (None without)."""
    found = re.search(r", xid (0x[0-9a-f]+)", packet)
    return found.group(1) if found else None


class HttpServer:
    """``python -m http.server`` serving ``root`` on ``host``'s address; its request log."""

    def __init__(self, host, root, port=8069):
        self.port = port
        self.log_path = os.path.join(host.lan.mkdtemp("http"), "http.log")
        self.log_file = open(self.log_path, "w")
        self.proc = host.spawn([sys.executable, "-u", "-m", "http.server", "--bind", host.ip,
                                "--directory", root, str(port)],
                               stdout=self.log_file, stderr=subprocess.STDOUT)
        self.url = "http://%s:%d" % (host.ip, port)
        wait_until(lambda: "Serving HTTP" in _read(self.log_path), 10, "the HTTP server")

    def requests(self):
        """The paths of the GET requests served so far."""
        paths = []
        for line in _read(self.log_path).splitlines():
            if '"GET ' in line:
                paths.append(line.split('"GET ', 1)[1].split()[0])
        return paths

    def close(self):
        self.log_file.close()


def write_script(directory, name, body):
    """An iPXE script file (world readable: tftpd-hpa reads it as its own user)."""
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write("#!ipxe\n" + body)
    os.chmod(path, 0o644)
    return path
