"""The addressing check: tcpdump in the server namespace during a short run of each server
proves that every packet on the wire is between 192.0.2.1 and 192.0.2.2, that every reply
goes to the relay (192.0.2.2:67), and that no leased address (10.64.0.0/16) is ever an
interface address, a packet's source or destination, or asked for by ARP.

verify6, for the DHCPv6 bench: every IPv6 packet is between the two ends' own addresses (their
2001:db8:1::/64 and fe80:: addresses) or to a link-scope multicast group (ff02::/16: the
servers' ff02::1:2, neighbour discovery, MLD reports), every UDP packet from the server goes to
port 546 of an address perfdhcp's end holds, and no leased address (the pool,
2001:db8:1:0:1::/96) is an interface address, a packet's source or destination, or the target
of a neighbour solicitation. Any IPv4 packet on the link is a problem too (the DHCPv4 server
of apidhcpd sees no traffic there).
"""

import ipaddress
import os
import re
import shutil
import signal
import time

from rig import DOC_NETS, RELAY_IP, SERVER_IP, is_documentation

TCPDUMP = shutil.which("tcpdump") or "/usr/bin/tcpdump"
LEASED = ipaddress.ip_network("10.64.0.0/16")
LEASED6 = ipaddress.ip_network("2001:db8:1:0:1::/96")  # servers.POOL6
LINK_MULTICAST = ipaddress.ip_network("ff02::/16")
LINK_LOCAL = ipaddress.ip_network("fe80::/10")
# tcpdump -q: "IP6 src[.port] > dst[.port]: ..." (the port after a dot, as for IPv4)
_IP6 = re.compile(r"\bIP6 ([0-9a-f:]+?)(?:\.(\d+))? > ([0-9a-f:]+?)(?:\.(\d+))?: ")
_ADDR6 = re.compile(r"[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,8}")
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


def addresses6(text):
    """Every IPv6 address written in a line of tcpdump's (ports cut off, timestamps skipped)."""
    found = []
    for token in _ADDR6.findall(text):
        for candidate in (token, token[:-1]):  # "ff02::1:ff00:2:" before " ICMP6"
            try:
                found.append(ipaddress.IPv6Address(candidate))
                break
            except ValueError:
                continue
    return found


def verify6(text, interface_addresses):
    """verify() for the DHCPv6 rig: the capture's text and {ns: [cidr]} (both families) ->
    a dict with "ok" and the facts behind it. The first namespace is the server's."""
    namespaces = list(interface_addresses)
    own = {ns: {ipaddress.ip_interface(c).ip for c in cidrs}
           for ns, cidrs in interface_addresses.items()}
    server = own[namespaces[0]] if namespaces else set()
    clients = set().union(*(own[ns] for ns in namespaces[1:]))
    known = server | clients
    packets = [line for line in text.splitlines() if line.strip()]
    from_server = to_clients = ipv4 = 0
    strays, leased_seen = set(), set()
    for line in packets:
        body = line.split(" ", 1)[1] if " " in line else line
        if re.search(r"\bIP \d+\.\d+\.\d+\.\d+", body):
            ipv4 += 1
        m = _IP6.search(body)
        try:
            src, dst = ipaddress.ip_address(m.group(1)), ipaddress.ip_address(m.group(3))
        except (AttributeError, ValueError):  # no IPv6 header in the line, or not read
            m = None
        if m:
            if src in server and "UDP" in body[m.end():]:
                from_server += 1
                if dst in clients and m.group(4) == "546":
                    to_clients += 1
            strays.update(a for a in (src, dst) if a not in known and a not in LINK_MULTICAST)
        for address in addresses6(body):
            if address in LEASED6:
                leased_seen.add(address)
            elif address not in known and address not in LINK_MULTICAST:
                strays.add(address)  # e.g. the target of a neighbour solicitation
    bad_ifaces = sorted(cidr for cidrs in interface_addresses.values() for cidr in cidrs
                        if not _allowed_interface(cidr))
    problems = []
    if not from_server:
        problems.append("no DHCPv6 packet from the server was captured")
    if from_server != to_clients:
        problems.append("%d of the server's %d UDP packets did not go to perfdhcp's addresses, "
                        "port 546" % (from_server - to_clients, from_server))
    if strays or leased_seen:
        problems.append("addresses other than the two ends' and link multicast on the wire: %s"
                        % ", ".join(str(a) for a in sorted(strays | leased_seen)[:10]))
    if ipv4:
        problems.append("%d IPv4 packets on the link" % ipv4)
    if bad_ifaces:
        problems.append("interface addresses outside the documentation and link-local ranges: "
                        "%s" % ", ".join(bad_ifaces))
    return {"ok": not problems, "problems": problems, "packets": len(packets),
            "from_server": from_server, "to_clients_port_546": to_clients,
            "leased_addresses_on_wire": [str(a) for a in sorted(leased_seen)[:10]],
            "interface_addresses": interface_addresses}


def _allowed_interface(cidr):
    """Loopback, link-local or documentation, and never a leased address."""
    address = ipaddress.ip_interface(cidr).ip
    if address in LEASED6 or (address.version == 4 and address in LEASED):
        return False
    return address.is_loopback or address in LINK_LOCAL or is_documentation(cidr)
