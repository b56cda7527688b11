"""The addressing check: tcpdump in the server namespace during a short run of each server
proves that every packet on the wire is between 192.0.2.1 and 192.0.2.2, that every reply
goes to the relay (192.0.2.2:67), and that no leased address (10.64.0.0/16) is ever an
interface address, a packet's source or destination, or asked for by ARP.
"""

import ipaddress
import os
import re
import shutil
import signal
import time

from rig import DOC_NETS, RELAY_IP, SERVER_IP

TCPDUMP = shutil.which("tcpdump") or "/usr/bin/tcpdump"
LEASED = ipaddress.ip_network("10.64.0.0/16")
_IP = re.compile(r"\bIP (\d+\.\d+\.\d+\.\d+)\.(\d+) > (\d+\.\d+\.\d+\.\d+)\.(\d+):")
_ADDR = re.compile(r"\b(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\b")


def available():
    return os.path.exists(TCPDUMP)


class Capture:
    def __init__(self, rig, path):
        self.rig = rig
        self.path = path
        self.proc = None

    def start(self):
        # -n no names, -q short lines (addresses and ports only), -l line-buffered
        self.proc = self.rig.spawn([TCPDUMP, "-i", "eth0", "-n", "-q", "-l"], ns=self.rig.srv,
                                   stdout=self.path,
                                   stderr=self.path + ".err")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # tcpdump says "listening on eth0" when ready
            try:
                with open(self.path + ".err") as f:
                    if "listening on" in f.read():
                        return
            except OSError:
                pass
            time.sleep(0.05)

    def stop(self):
        time.sleep(0.3)
        self.rig.stop(self.proc, sig=signal.SIGINT)
        with open(self.path) as f:
            return f.read()


def verify(text, interface_addresses):
    """The capture's text and {ns: [cidr]} -> a dict with "ok" and the facts behind it."""
    packets = [line for line in text.splitlines() if line.strip()]
    ip_lines = [_IP.search(line) for line in packets]
    to_relay = sum(1 for m in ip_lines if m and m.group(1) == SERVER_IP
                   and m.group(3) == RELAY_IP and m.group(4) == "67")
    from_server = sum(1 for m in ip_lines if m and m.group(1) == SERVER_IP)
    seen = set()
    for line in packets:
        seen.update(_ADDR.findall(line.split(" ", 1)[1] if " " in line else line))
    strays = sorted(a for a in seen if a not in (SERVER_IP, RELAY_IP))
    leased_seen = sorted(a for a in seen if _in(a, LEASED))
    bad_ifaces = sorted(cidr for cidrs in interface_addresses.values() for cidr in cidrs
                        if not (cidr.startswith("127.") or any(
                            ipaddress.ip_interface(cidr).network.subnet_of(n) for n in DOC_NETS)))
    problems = []
    if not from_server:
        problems.append("no packet from the server was captured")
    if from_server != to_relay:
        problems.append("%d of the server's %d packets did not go to %s:67"
                        % (from_server - to_relay, from_server, RELAY_IP))
    if strays:
        problems.append("addresses other than %s and %s on the wire: %s"
                        % (SERVER_IP, RELAY_IP, ", ".join(strays[:10])))
    if bad_ifaces:
        problems.append("non-documentation interface addresses: %s" % ", ".join(bad_ifaces))
    return {"ok": not problems, "problems": problems, "packets": len(packets),
            "from_server": from_server, "to_relay_port_67": to_relay,
            "leased_addresses_on_wire": leased_seen[:10],
            "interface_addresses": interface_addresses}


def _in(address, network):
    try:
        return ipaddress.ip_address(address) in network
    except ValueError:
        return False
