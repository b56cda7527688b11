"""A tiny, independent DHCPv4 packet codec and a raw test client.

Only the standard library is used (``struct``/``socket``), never apidhcpd,
so it can judge the server's codec from the outside.

:class:`RawClient` runs this same file as a subprocess inside a namespace
(``ip netns exec NS python rawclient.py``), passing a JSON request on stdin
and reading a JSON answer on stdout.  The child binds a UDP socket to port
68 on the interface (SO_BINDTODEVICE, SO_BROADCAST), sends, and collects
replies for a bounded time.
"""

import json
import os
import random
import select
import socket
import struct
import sys
import time
from dataclasses import dataclass, field

MAGIC = b"\x63\x82\x53\x63"
DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM = range(1, 9)
MSG_NAMES = {1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK",
             6: "NAK", 7: "RELEASE", 8: "INFORM"}
BROADCAST_FLAG = 0x8000
SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)
HEADER = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")  # 236 bytes

# Option codes used below.
OPT_SUBNET, OPT_ROUTER, OPT_DNS, OPT_HOSTNAME, OPT_DOMAIN = 1, 3, 6, 12, 15
OPT_REQUESTED_IP, OPT_LEASE_TIME, OPT_OVERLOAD, OPT_MSG_TYPE = 50, 51, 52, 53
OPT_SERVER_ID, OPT_PRL, OPT_CLIENT_ID, OPT_END, OPT_PAD = 54, 55, 61, 255, 0
DEFAULT_PRL = bytes([1, 3, 6, 12, 15, 28, 51, 54])


# ---------------------------------------------------------------- codec

def mac_bytes(mac):
    """'aa:bb:cc:dd:ee:ff' (or bytes) -> 6 bytes."""
    if isinstance(mac, (bytes, bytearray)):
        return bytes(mac)
    return bytes(int(x, 16) for x in mac.replace("-", ":").split(":"))


def mac_str(raw):
    return ":".join("%02x" % b for b in raw)


def ip_bytes(ip):
    return socket.inet_aton(ip or "0.0.0.0")


def ip_str(raw):
    return socket.inet_ntoa(raw)


def opt_ip(*ips):
    """Option value for one or more IPv4 addresses."""
    return b"".join(ip_bytes(i) for i in ips)


def opt_u32(n):
    return struct.pack("!I", n)


def encode_options(options):
    """[(code, bytes|str), ...] or {code: value} -> TLV bytes (no END).

    Values longer than 255 bytes are split into several instances (RFC 3396).
    """
    items = options.items() if isinstance(options, dict) else options
    out = bytearray()
    for code, value in items:
        if isinstance(value, str):
            value = value.encode()
        if code in (OPT_PAD, OPT_END):
            out.append(code)
            continue
        chunks = [value[i:i + 255] for i in range(0, len(value), 255)] or [b""]
        for chunk in chunks:
            out += bytes([code, len(chunk)]) + chunk
    return bytes(out)


def build_packet(msg_type=None, chaddr="02:00:00:00:00:01", xid=0,
                 options=(), flags=BROADCAST_FLAG, ciaddr=None, yiaddr=None,
                 siaddr=None, giaddr=None, op=1, hops=0, secs=0, htype=1,
                 hlen=6, sname=b"", file=b"", end=True, pad_to=300):
    """Build a BOOTP/DHCP packet; option 53 goes first when msg_type is set."""
    ch = mac_bytes(chaddr)
    head = HEADER.pack(op, htype, hlen, hops, xid & 0xFFFFFFFF, secs, flags,
                       ip_bytes(ciaddr), ip_bytes(yiaddr), ip_bytes(siaddr),
                       ip_bytes(giaddr), ch.ljust(16, b"\0")[:16],
                       bytes(sname)[:64].ljust(64, b"\0"),
                       bytes(file)[:128].ljust(128, b"\0"))
    opts = list(options.items() if isinstance(options, dict) else options)
    if msg_type is not None:
        opts.insert(0, (OPT_MSG_TYPE, bytes([msg_type])))
    body = MAGIC + encode_options(opts) + (bytes([OPT_END]) if end else b"")
    pkt = head + body
    return pkt.ljust(pad_to, b"\0") if pad_to else pkt


def _parse_tlv(data, into):
    """Parse option TLVs, concatenating repeated codes; stops at END."""
    i = 0
    while i < len(data):
        code = data[i]
        if code == OPT_PAD:
            i += 1
            continue
        if code == OPT_END:
            return
        if i + 1 >= len(data) or i + 2 + data[i + 1] > len(data):
            raise ValueError("truncated option %d" % code)
        length = data[i + 1]
        into[code] = into.get(code, b"") + data[i + 2:i + 2 + length]
        i += 2 + length


@dataclass
class Packet:
    """A parsed DHCP packet; ``options`` maps code -> raw bytes."""

    op: int
    htype: int
    hlen: int
    hops: int
    xid: int
    secs: int
    flags: int
    ciaddr: str
    yiaddr: str
    siaddr: str
    giaddr: str
    chaddr: str
    sname: bytes
    file: bytes
    options: dict[int, bytes] = field(default_factory=dict)

    @property
    def msg_type(self):
        v = self.options.get(OPT_MSG_TYPE)
        return v[0] if v else None

    @property
    def msg_name(self):
        return MSG_NAMES.get(self.msg_type, "BOOTP" if self.msg_type is None
                             else "TYPE%d" % self.msg_type)

    def _ips(self, code):
        v = self.options.get(code, b"")
        return [ip_str(v[i:i + 4]) for i in range(0, len(v) - len(v) % 4, 4)]

    def _ip(self, code):
        ips = self._ips(code)
        return ips[0] if ips else None

    @property
    def server_id(self):
        return self._ip(OPT_SERVER_ID)

    @property
    def requested_ip(self):
        return self._ip(OPT_REQUESTED_IP)

    @property
    def subnet_mask(self):
        return self._ip(OPT_SUBNET)

    @property
    def routers(self):
        return self._ips(OPT_ROUTER)

    @property
    def dns(self):
        return self._ips(OPT_DNS)

    @property
    def domain(self):
        v = self.options.get(OPT_DOMAIN)
        return v.decode(errors="replace") if v is not None else None

    @property
    def hostname(self):
        v = self.options.get(OPT_HOSTNAME)
        return v.decode(errors="replace") if v is not None else None

    @property
    def lease_time(self):
        v = self.options.get(OPT_LEASE_TIME)
        return struct.unpack("!I", v)[0] if v and len(v) == 4 else None


def parse_packet(data):
    """Parse bytes into a :class:`Packet`; ValueError when malformed."""
    if len(data) < HEADER.size + 4:
        raise ValueError("packet too short (%d bytes)" % len(data))
    (op, htype, hlen, hops, xid, secs, flags, ci, yi, si, gi, ch, sname,
     file) = HEADER.unpack_from(data)
    if data[HEADER.size:HEADER.size + 4] != MAGIC:
        raise ValueError("bad magic cookie")
    options = {}
    _parse_tlv(data[HEADER.size + 4:], options)
    overload = options.get(OPT_OVERLOAD, b"\0")[0]
    if overload & 1:
        _parse_tlv(file, options)
    if overload & 2:
        _parse_tlv(sname, options)
    return Packet(op, htype, hlen, hops, xid, secs, flags, ip_str(ci),
                  ip_str(yi), ip_str(si), ip_str(gi), mac_str(ch[:min(hlen, 16)]),
                  sname.rstrip(b"\0"), file.rstrip(b"\0"), options)


def client_options(hostname=None, client_id=None, requested_ip=None,
                   server_id=None, prl=DEFAULT_PRL, extra=()):
    """The usual client options as a list of (code, bytes)."""
    opts = []
    if client_id is not None:
        opts.append((OPT_CLIENT_ID, bytes.fromhex(client_id.replace(":", ""))
                     if isinstance(client_id, str) else client_id))
    if requested_ip:
        opts.append((OPT_REQUESTED_IP, ip_bytes(requested_ip)))
    if server_id:
        opts.append((OPT_SERVER_ID, ip_bytes(server_id)))
    if hostname:
        opts.append((OPT_HOSTNAME, hostname.encode()))
    if prl:
        opts.append((OPT_PRL, bytes(prl)))
    opts.extend(extra)
    return opts


def make_chaddrs(n, seed=None):
    """n distinct locally administered MACs: 02:ad:RR:ii:ii:ii."""
    r = random.Random(seed).randrange(256) if seed is not None else \
        random.randrange(256)
    return ["02:ad:%02x:%02x:%02x:%02x" % (r, (i >> 16) & 255, (i >> 8) & 255,
                                           i & 255) for i in range(n)]


def new_xid():
    return random.getrandbits(32)


# ---------------------------------------------------------------- child side

def _socket(iface, sport, rcvbuf=4 << 20):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, iface.encode())
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind(("0.0.0.0", sport))
    s.setblocking(False)
    return s


def _recv_all(sock, timeout):
    """Return [(data, (ip, port))] received within ``timeout`` seconds."""
    out = []
    if select.select([sock], [], [], max(0.0, timeout))[0]:
        while True:
            try:
                out.append(sock.recvfrom(4096))
            except BlockingIOError:
                break
    return out


def child_exchange(req):
    """Send req['packets'] (hex) and collect replies for req['wait'] s."""
    sock = _socket(req["iface"], req.get("sport", 68))
    dest = (req.get("dest", "255.255.255.255"), req.get("dport", 67))
    errors, replies = [], []
    for hx in req["packets"]:
        try:
            sock.sendto(bytes.fromhex(hx), dest)
        except OSError as e:
            errors.append(str(e))
    deadline = time.monotonic() + float(req.get("wait", 2.0))
    max_replies = req.get("max_replies")
    while time.monotonic() < deadline:
        for data, src in _recv_all(sock, min(0.1, deadline - time.monotonic())):
            replies.append({"src": src[0], "sport": src[1], "hex": data.hex()})
        if max_replies and len(replies) >= max_replies:
            break
    sock.close()
    return {"replies": replies, "errors": errors}


def child_many(req):
    """Run concurrent DORA exchanges; see :meth:`RawClient.many_clients`."""
    sock = _socket(req["iface"], 68)
    dest = ("255.255.255.255", 67)
    retries = int(req.get("retries", 5))
    interval = float(req.get("retry_interval", 1.0))
    max_interval = float(req.get("max_interval", 8.0))
    spacing = float(req.get("spacing", 0.002))
    max_restarts = int(req.get("restarts", 2))
    start = time.monotonic()
    deadline = start + float(req.get("timeout", 60))
    clients, by_xid = [], {}
    for i, ch in enumerate(req["chaddrs"]):
        c = {"chaddr": ch, "xid": None, "state": "discover", "attempts": 0,
             "restarts": 0, "next": start + i * spacing, "offered_ip": None,
             "offer_server_id": None, "acked_ip": None, "ack_server_id": None,
             "offers": [], "acks": [], "naks": 0, "sent": 0, "elapsed": None}
        clients.append(c)

    def restart(c):
        if c["xid"] is not None:
            by_xid.pop(c["xid"], None)
        c["xid"] = new_xid()
        by_xid[c["xid"]] = c
        c.update(state="discover", attempts=0, offered_ip=None,
                 offer_server_id=None)

    def send(c, now):
        ch = c["chaddr"]
        if c["state"] == "discover":
            pkt = build_packet(DISCOVER, ch, c["xid"], client_options())
        else:
            pkt = build_packet(REQUEST, ch, c["xid"], client_options(
                requested_ip=c["offered_ip"], server_id=c["offer_server_id"]))
        try:
            sock.sendto(pkt, dest)
        except OSError:
            pass  # e.g. ENOBUFS: counts as a lost packet, retried later
        c["attempts"] += 1
        c["sent"] += 1
        # Exponential backoff, as real clients do (RFC 2131 4.1).
        c["next"] = now + min(interval * 2 ** (c["attempts"] - 1), max_interval)

    for c in clients:
        restart(c)

    while time.monotonic() < deadline:
        now = time.monotonic()
        active = [c for c in clients if c["state"] in ("discover", "request")]
        if not active:
            break
        for c in active:
            if c["next"] > now:
                continue
            if c["attempts"] >= retries:
                if c["state"] == "request" and c["restarts"] < max_restarts:
                    c["restarts"] += 1
                    restart(c)
                else:
                    c["state"] = "failed"
                    continue
            send(c, now)
        wait = min([c["next"] for c in active] + [now + 0.05]) - now
        for data, _src in _recv_all(sock, min(wait, deadline - now)):
            try:
                p = parse_packet(data)
            except ValueError:
                continue
            c = by_xid.get(p.xid)
            if c is None or p.op != 2 or p.chaddr != c["chaddr"]:
                continue
            t = p.msg_type
            if t == OFFER:
                c["offers"].append([p.server_id, p.yiaddr])
                if c["state"] == "discover":
                    c.update(state="request", attempts=0,
                             offered_ip=p.yiaddr, offer_server_id=p.server_id)
                    send(c, time.monotonic())
            elif t == ACK:
                c["acks"].append([p.server_id, p.yiaddr])
                if c["state"] == "request" and (
                        p.server_id in (None, c["offer_server_id"])):
                    c.update(state="bound", acked_ip=p.yiaddr,
                             ack_server_id=p.server_id,
                             elapsed=time.monotonic() - start)
            elif t == NAK:
                c["naks"] += 1
                if c["state"] == "request" and \
                        p.server_id in (None, c["offer_server_id"]):
                    if c["restarts"] < max_restarts:
                        c["restarts"] += 1
                        restart(c)
                        c["next"] = time.monotonic()
                    else:
                        c["state"] = "failed"
    sock.close()
    for c in clients:
        if c["state"] in ("discover", "request"):
            c["state"] = "timeout"
        for k in ("next", "attempts"):
            c.pop(k)
    return {"clients": clients, "elapsed": time.monotonic() - start}


def child_main():
    req = json.load(sys.stdin)
    handler = {"exchange": child_exchange, "many": child_many}[req["op"]]
    json.dump(handler(req), sys.stdout)


# ---------------------------------------------------------------- parent side

@dataclass
class Reply:
    """One datagram received by the child."""

    src: str
    sport: int
    data: bytes
    packet: Packet | None  # None when it did not parse


@dataclass
class ClientResult:
    """Outcome of one DORA in :meth:`RawClient.many_clients`."""

    chaddr: str
    xid: int
    state: str  # bound | failed | timeout
    offered_ip: str | None
    offer_server_id: str | None
    acked_ip: str | None
    ack_server_id: str | None
    offers: list[list]  # every [server_id, yiaddr] offered
    acks: list[list]    # every [server_id, yiaddr] acked
    naks: int
    restarts: int
    sent: int
    elapsed: float | None

    @property
    def ok(self):
        return self.state == "bound"


class RawClient:
    """Hand-made DHCP packets from inside ``host``'s namespace."""

    def __init__(self, host, iface=None, python=None):
        self.host = host
        self.iface = iface or host.iface
        self.python = python or sys.executable
        self.mac = host.mac if self.iface == host.iface else None

    def _call(self, req, timeout):
        req["iface"] = self.iface
        res = self.host.run([self.python, os.path.abspath(__file__)],
                            input=json.dumps(req), timeout=timeout + 10)
        return json.loads(res.stdout)

    def send(self, packets, wait=2.0, dest="255.255.255.255", dport=67,
             sport=68, max_replies=None):
        """Send raw packets (bytes or list of bytes); return [Reply]."""
        if isinstance(packets, (bytes, bytearray)):
            packets = [packets]
        out = self._call({"op": "exchange", "packets": [bytes(p).hex()
                                                        for p in packets],
                          "wait": wait, "dest": dest, "dport": dport,
                          "sport": sport, "max_replies": max_replies}, wait)
        if out["errors"]:
            raise OSError("send failed: %s" % "; ".join(out["errors"]))
        replies = []
        for r in out["replies"]:
            data = bytes.fromhex(r["hex"])
            try:
                pkt = parse_packet(data)
            except ValueError:
                pkt = None
            replies.append(Reply(r["src"], r["sport"], data, pkt))
        return replies

    def transact(self, msg_type, chaddr=None, xid=None, options=None,
                 wait=2.0, max_replies=None, dest="255.255.255.255", **fields):
        """Send one message; return parsed replies with the same xid."""
        chaddr = chaddr or self.mac
        xid = new_xid() if xid is None else xid
        if options is None:
            options = client_options()
        pkt = build_packet(msg_type, chaddr, xid, options, **fields)
        replies = self.send(pkt, wait=wait, dest=dest, max_replies=max_replies)
        return [r.packet for r in replies
                if r.packet is not None and r.packet.xid == xid]

    def discover(self, chaddr=None, xid=None, wait=2.0, max_replies=None,
                 **opts):
        """DISCOVER; ``opts`` go to :func:`client_options`. Returns OFFERs etc.

        ``max_replies`` stops listening early once that many datagrams came.
        """
        return self.transact(DISCOVER, chaddr, xid, client_options(**opts),
                             wait=wait, max_replies=max_replies)

    def request(self, requested_ip=None, server_id=None, chaddr=None, xid=None,
                ciaddr=None, wait=2.0, dest="255.255.255.255",
                max_replies=None, **opts):
        """REQUEST: SELECTING (server_id), INIT-REBOOT (neither), RENEW (ciaddr)."""
        return self.transact(REQUEST, chaddr, xid, client_options(
            requested_ip=requested_ip, server_id=server_id, **opts),
            wait=wait, ciaddr=ciaddr, dest=dest, max_replies=max_replies)

    def inform(self, ciaddr, chaddr=None, xid=None, wait=2.0,
               max_replies=None, **opts):
        """INFORM from ``ciaddr`` (the host should own that address)."""
        return self.transact(INFORM, chaddr, xid, client_options(**opts),
                             wait=wait, ciaddr=ciaddr, max_replies=max_replies)

    def decline(self, requested_ip, server_id, chaddr=None, xid=None,
                wait=0.5, **opts):
        """DECLINE an address (no reply expected)."""
        return self.transact(DECLINE, chaddr, xid, client_options(
            requested_ip=requested_ip, server_id=server_id, prl=None, **opts),
            wait=wait)

    def release(self, ciaddr, server_id, chaddr=None, xid=None, wait=0.5,
                **opts):
        """RELEASE ``ciaddr`` (broadcast; no reply expected)."""
        return self.transact(RELEASE, chaddr, xid, client_options(
            server_id=server_id, prl=None, **opts), wait=wait, ciaddr=ciaddr)

    def many_clients(self, n=None, chaddrs=None, timeout=60, retries=5,
                     retry_interval=1.0, max_interval=8.0, spacing=0.002,
                     restarts=2):
        """Run ``n`` concurrent DORAs (first OFFER wins); [ClientResult].

        Every client gets its own chaddr and xid and sets the broadcast flag.
        A REQUEST names the server id of the OFFER it accepts, so several
        servers may answer.  Retransmits back off exponentially from
        ``retry_interval`` up to ``max_interval`` and are bounded by
        ``retries`` per phase, ``restarts`` after NAK/no-ACK, and the whole
        run by ``timeout``.
        """
        chaddrs = list(chaddrs) if chaddrs else make_chaddrs(n)
        out = self._call({"op": "many", "chaddrs": chaddrs, "timeout": timeout,
                          "retries": retries, "retry_interval": retry_interval,
                          "max_interval": max_interval,
                          "spacing": spacing, "restarts": restarts}, timeout)
        return [ClientResult(**c) for c in out["clients"]]


if __name__ == "__main__":
    child_main()
