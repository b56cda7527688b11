"""The DHCPv4 option catalogue: codes, names and value types.

Knows how one option value is written and read (RFC 2132 and the later
option RFCs), as bytes without code or length.  Knows nothing about packets:
not the header, not the code/length framing, not long options or overload
(that is codec.py).
"""

import ipaddress
import socket
import struct

import attr


class OptionError(ValueError):
    """An option value that cannot be encoded or decoded."""


# DHCP message types (option 53, RFC 2132 9.6).
DISCOVER = 1
OFFER = 2
REQUEST = 3
DECLINE = 4
ACK = 5
NAK = 6
RELEASE = 7
INFORM = 8

MESSAGE_TYPE_NAMES = {
    DISCOVER: "DISCOVER",
    OFFER: "OFFER",
    REQUEST: "REQUEST",
    DECLINE: "DECLINE",
    ACK: "ACK",
    NAK: "NAK",
    RELEASE: "RELEASE",
    INFORM: "INFORM",
}


def _ip_to_bytes(value):
    if not isinstance(value, str):
        raise OptionError("address must be a dotted string: %r" % (value,))
    try:
        return socket.inet_pton(socket.AF_INET, value)
    except (OSError, ValueError):
        raise OptionError("bad IPv4 address: %r" % (value,)) from None


def _check_bytes(value):
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise OptionError("expected bytes, got %r" % (type(value).__name__,))
    return bytes(value)


# Value types.  Each one has encode(value) -> bytes and decode(raw) -> value.


class _IP:
    """One IPv4 address, value "a.b.c.d"."""

    def encode(self, value):
        return _ip_to_bytes(value)

    def decode(self, raw):
        if len(raw) != 4:
            raise OptionError("address must be 4 bytes, got %d" % len(raw))
        return socket.inet_ntoa(raw)


class _IPList:
    """One or more IPv4 addresses, value ["a.b.c.d", ...]."""

    def encode(self, value):
        if not isinstance(value, (list, tuple)) or not value:
            raise OptionError("expected a non-empty list of addresses")
        return b"".join(_ip_to_bytes(v) for v in value)

    def decode(self, raw):
        if not raw or len(raw) % 4:
            raise OptionError("address list length %d is not 4n" % len(raw))
        return [socket.inet_ntoa(raw[i:i + 4]) for i in range(0, len(raw), 4)]


class _Int:
    """A fixed-size integer."""

    def __init__(self, fmt, low, high):
        self._struct = struct.Struct("!" + fmt)
        self._low = low
        self._high = high

    def encode(self, value):
        if (not isinstance(value, int) or isinstance(value, bool)
                or not self._low <= value <= self._high):
            raise OptionError("%r is not an integer in [%d, %d]"
                              % (value, self._low, self._high))
        return self._struct.pack(value)

    def decode(self, raw):
        if len(raw) != self._struct.size:
            raise OptionError("expected %d bytes, got %d"
                              % (self._struct.size, len(raw)))
        return self._struct.unpack(raw)[0]


class _Bool:
    """RFC 2132 flag: one byte, 0 or 1."""

    def encode(self, value):
        if not isinstance(value, bool):
            raise OptionError("expected a bool, got %r" % (value,))
        return b"\x01" if value else b"\x00"

    def decode(self, raw):
        if raw not in (b"\x00", b"\x01"):
            raise OptionError("a flag is one byte 0 or 1, got %r" % (raw,))
        return raw == b"\x01"


class _Text:
    """A string (NVT ASCII in RFC 2132; UTF-8 here)."""

    def encode(self, value):
        if not isinstance(value, str) or not value:
            raise OptionError("expected a non-empty string, got %r" % (value,))
        return value.encode("utf-8")

    def decode(self, raw):
        if not raw:
            raise OptionError("text options have at least 1 byte")
        # RFC 2132 section 2: receivers MUST delete trailing NULs.
        return bytes(raw).rstrip(b"\x00").decode("utf-8", errors="replace")


class _Bytes:
    """Opaque bytes, passed through."""

    def encode(self, value):
        return _check_bytes(value)

    def decode(self, raw):
        return bytes(raw)


class _ByteList:
    """A list of small integers, one per byte (option 55)."""

    def encode(self, value):
        if not isinstance(value, (list, tuple)):
            raise OptionError("expected a list of ints 0..255, got %r" % (value,))
        try:
            return bytes(value)
        except (TypeError, ValueError):
            raise OptionError("expected a list of ints 0..255, got %r"
                              % (value,)) from None

    def decode(self, raw):
        return list(raw)


class _ClientID:
    """Option 61: a type byte and at least one byte of identifier."""

    def encode(self, value):
        return self.decode(_check_bytes(value))

    def decode(self, raw):
        if len(raw) < 2:
            raise OptionError("client identifier needs at least 2 bytes")
        return bytes(raw)


def _split_name(name):
    """["www", "example", "com"] for "www.example.com" (trailing dot optional)."""
    if not isinstance(name, str):
        raise OptionError("a domain name is a string, got %r" % (name,))
    if name.endswith("."):
        name = name[:-1]
    if not name:
        return []
    try:
        labels = [label.encode("ascii") for label in name.split(".")]
    except UnicodeEncodeError:
        raise OptionError("domain name is not ASCII (use punycode): %r"
                          % (name,)) from None
    for label in labels:
        if not 1 <= len(label) <= 63:
            raise OptionError("bad label length in %r" % (name,))
    if sum(len(label) + 1 for label in labels) + 1 > 255:
        raise OptionError("domain name longer than 255 bytes: %r" % (name,))
    return labels


def _labels_to_wire(labels):
    return [bytes((len(label),)) + label for label in labels]


def _read_labels(raw, pos, compressed):
    """Read one name at pos -> (labels, terminated, next_pos).

    next_pos is where the data after this name starts.  With compressed,
    pointers (RFC 1035 4.1.4) are followed; a pointer seen twice is a loop.
    Without it a name may end at the end of data (RFC 4702 partial name).
    """
    labels = []
    wire_length = 1
    next_pos = None
    seen = set()
    end = len(raw)
    while True:
        if pos >= end:
            if compressed:
                raise OptionError("domain name runs past the end")
            return labels, False, pos if next_pos is None else next_pos
        n = raw[pos]
        if n == 0:
            return labels, True, pos + 1 if next_pos is None else next_pos
        if n & 0xC0 == 0xC0 and compressed:
            if pos + 1 >= end:
                raise OptionError("truncated compression pointer")
            if pos in seen:
                raise OptionError("compression pointer loop")
            seen.add(pos)
            if next_pos is None:
                next_pos = pos + 2
            pos = ((n & 0x3F) << 8) | raw[pos + 1]
            continue
        if n > 63:
            raise OptionError("bad label type 0x%02x" % n)
        if pos + 1 + n > end:
            raise OptionError("label runs past the end")
        wire_length += n + 1
        if wire_length > 255:
            raise OptionError("domain name longer than 255 bytes")
        labels.append(bytes(raw[pos + 1:pos + 1 + n]))
        pos += 1 + n


def _join_labels(labels):
    return ".".join(label.decode("ascii", errors="replace") for label in labels)


class _DomainList:
    """Option 119 (RFC 3397): domain names in RFC 1035 form, compressed.

    Value: ["example.com", "corp.example.com"], no trailing dots.  Pointers
    count from the start of the (concatenated) option value.
    """

    def encode(self, value):
        if not isinstance(value, (list, tuple)) or not value:
            raise OptionError("expected a non-empty list of domain names")
        out = bytearray()
        known = {}  # tuple of labels -> offset of that suffix
        for name in value:
            labels = _split_name(name)
            for i in range(len(labels)):
                suffix = tuple(labels[i:])
                offset = known.get(suffix)
                if offset is not None:
                    out += struct.pack("!H", 0xC000 | offset)
                    break
                if len(out) < 0x4000:
                    known[suffix] = len(out)
                out.append(len(labels[i]))
                out += labels[i]
            else:
                out.append(0)
        return bytes(out)

    def decode(self, raw):
        names = []
        pos = 0
        while pos < len(raw):
            labels, _, pos = _read_labels(raw, pos, compressed=True)
            names.append(_join_labels(labels))
        return names


class _ClasslessRoutes:
    """Options 121 and 249 (RFC 3442).

    Value: [("10.0.0.0/8", "192.0.2.1"), ("0.0.0.0/0", "192.0.2.1")].
    """

    def encode(self, value):
        if not isinstance(value, (list, tuple)):
            raise OptionError("expected a list of (network, router)")
        out = bytearray()
        for route in value:
            try:
                network, router = route
                net = ipaddress.IPv4Network(network, strict=True)
            except (TypeError, ValueError) as e:
                raise OptionError("bad route %r: %s" % (route, e)) from None
            width = net.prefixlen
            out.append(width)
            out += net.network_address.packed[:(width + 7) // 8]
            out += _ip_to_bytes(router)
        return bytes(out)

    def decode(self, raw):
        routes = []
        pos = 0
        while pos < len(raw):
            width = raw[pos]
            if width > 32:
                raise OptionError("prefix length %d > 32" % width)
            significant = (width + 7) // 8
            end = pos + 1 + significant + 4
            if end > len(raw):
                raise OptionError("truncated route")
            subnet = bytes(raw[pos + 1:pos + 1 + significant]).ljust(4, b"\x00")
            net = ipaddress.IPv4Network((subnet, width), strict=False)
            routes.append((str(net), socket.inet_ntoa(raw[end - 4:end])))
            pos = end
        return routes


FQDN_S = 0x01  # the server should do the A record update
FQDN_O = 0x02  # the server overrode the client's S choice
FQDN_E = 0x04  # the name is in canonical wire format
FQDN_N = 0x08  # the server should do no DNS updates


@attr.s(frozen=True, slots=True)
class ClientFQDN:
    """Value of option 81.  A name ending in "." is fully qualified."""

    flags = attr.ib(default=0)
    rcode1 = attr.ib(default=0)
    rcode2 = attr.ib(default=0)
    name = attr.ib(default="")


class _FQDN:
    """Option 81 (RFC 4702): flags, two RCODEs, then the name.

    With the E flag the name is in RFC 1035 wire format without compression:
    ending in a root label when fully qualified ("host.example.com." in the
    value), without it when partial ("host").  Without E it is ASCII.
    """

    def encode(self, value):
        if isinstance(value, ClientFQDN):
            value = (value.flags, value.rcode1, value.rcode2, value.name)
        try:
            flags, rcode1, rcode2, name = value
            head = bytes((flags, rcode1, rcode2))
        except (TypeError, ValueError):
            raise OptionError("bad client FQDN value %r" % (value,)) from None
        if not isinstance(name, str):
            raise OptionError("FQDN name must be a string: %r" % (name,))
        if not flags & FQDN_E:
            try:
                return head + name.encode("ascii")
            except UnicodeEncodeError:
                raise OptionError("FQDN name is not ASCII") from None
        if name == "":
            return head
        wire = b"".join(_labels_to_wire(_split_name(name)))
        return head + wire + (b"\x00" if name.endswith(".") else b"")

    def decode(self, raw):
        if len(raw) < 3:
            raise OptionError("client FQDN needs at least 3 bytes")
        flags, rcode1, rcode2 = raw[0], raw[1], raw[2]
        if not flags & FQDN_E:
            name = bytes(raw[3:]).decode("ascii", errors="replace")
            return ClientFQDN(flags, rcode1, rcode2, name)
        labels, terminated, pos = _read_labels(raw, 3, compressed=False)
        if pos != len(raw):
            raise OptionError("data after the FQDN root label")
        name = _join_labels(labels)
        if terminated:
            name += "."
        return ClientFQDN(flags, rcode1, rcode2, name)


class _RelayAgentInfo:
    """Option 82 (RFC 3046): sub-options, value [(subcode, bytes), ...]."""

    def encode(self, value):
        if not isinstance(value, (list, tuple)):
            raise OptionError("expected a list of (subcode, bytes)")
        out = bytearray()
        for sub in value:
            try:
                subcode, data = sub
                out += bytes((subcode, len(data)))
            except (TypeError, ValueError):
                raise OptionError("bad relay agent sub-option %r" % (sub,)) from None
            out += _check_bytes(data)
        return bytes(out)

    def decode(self, raw):
        subs = []
        pos = 0
        while pos < len(raw):
            if pos + 2 > len(raw) or pos + 2 + raw[pos + 1] > len(raw):
                raise OptionError("truncated relay agent sub-option")
            end = pos + 2 + raw[pos + 1]
            subs.append((raw[pos], bytes(raw[pos + 2:end])))
            pos = end
        return subs


IP = _IP()
IPList = _IPList()
U8 = _Int("B", 0, 0xFF)
U16 = _Int("H", 0, 0xFFFF)
U32 = _Int("I", 0, 0xFFFFFFFF)
S32 = _Int("i", -0x80000000, 0x7FFFFFFF)
Bool = _Bool()
Text = _Text()
Bytes = _Bytes()
ByteList = _ByteList()
DomainList = _DomainList()
ClasslessRoutes = _ClasslessRoutes()
FQDN = _FQDN()
RelayAgentInfo = _RelayAgentInfo()
ClientID = _ClientID()


@attr.s(frozen=True, slots=True)
class Option:
    code = attr.ib()
    name = attr.ib()
    type = attr.ib()


OPTIONS = {o.code: o for o in [
    Option(1, "subnet-mask", IP),
    Option(2, "time-offset", S32),
    Option(3, "router", IPList),
    Option(4, "time-server", IPList),
    Option(6, "domain-name-server", IPList),
    Option(7, "log-server", IPList),
    Option(12, "host-name", Text),
    Option(15, "domain-name", Text),
    Option(17, "root-path", Text),
    Option(26, "interface-mtu", U16),
    Option(28, "broadcast-address", IP),
    Option(33, "static-route", Bytes),
    Option(40, "nis-domain", Text),
    Option(41, "nis-servers", IPList),
    Option(42, "ntp-servers", IPList),
    Option(43, "vendor-specific", Bytes),
    Option(44, "netbios-name-servers", IPList),
    Option(46, "netbios-node-type", U8),
    Option(50, "requested-address", IP),
    Option(51, "lease-time", U32),
    Option(52, "overload", U8),
    Option(53, "message-type", U8),
    Option(54, "server-identifier", IP),
    Option(55, "parameter-request-list", ByteList),
    Option(56, "message", Text),
    Option(57, "max-message-size", U16),
    Option(58, "renewal-time", U32),
    Option(59, "rebinding-time", U32),
    Option(60, "vendor-class-identifier", Bytes),
    Option(61, "client-identifier", ClientID),
    Option(66, "tftp-server-name", Text),
    Option(67, "bootfile-name", Text),
    Option(77, "user-class", Bytes),
    Option(80, "rapid-commit", Bytes),
    Option(81, "client-fqdn", FQDN),
    Option(82, "relay-agent-information", RelayAgentInfo),
    Option(93, "client-arch", Bytes),
    Option(97, "client-machine-id", Bytes),
    Option(108, "ipv6-only-preferred", U32),
    Option(114, "captive-portal", Text),
    Option(116, "auto-configure", U8),
    Option(118, "subnet-selection", IP),
    Option(119, "domain-search", DomainList),
    Option(121, "classless-static-route", ClasslessRoutes),
    Option(249, "ms-classless-static-route", ClasslessRoutes),
    Option(252, "wpad", Text),
]}

_BY_NAME = {o.name: o for o in OPTIONS.values()}


def by_name(name):
    """The Option called name; OptionError if there is none."""
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise OptionError("unknown option name %r" % (name,)) from None


def _type_for(code):
    option = OPTIONS.get(code)
    if option is not None:
        return option.type
    if isinstance(code, int) and 1 <= code <= 254:
        return Bytes
    raise OptionError("option code must be 1..254, got %r" % (code,))


def encode_option(code, value):
    """The raw bytes of option code carrying value (unknown codes: bytes)."""
    return _type_for(code).encode(value)


def decode_option(code, raw):
    """The value of option code from its raw bytes (unknown codes: bytes)."""
    return _type_for(code).decode(raw)
