"""The DHCPv4 option catalogue: codes, names and value types.

Knows how one option value is written and read (RFC 2132 and the later
option RFCs), as bytes without code or length.  Knows nothing about packets:
not the header, not the code/length framing, not long options or overload
(that is codec.py).
"""

import ipaddress
import socket
import struct
from collections.abc import Iterable, Mapping
from enum import IntEnum
from typing import Protocol, TypeVar

import attr


class OptionError(ValueError):
    """An option value that cannot be encoded or decoded."""


class _Code(IntEnum):
    """A number with a name; printed as the number (as IntEnum is from Python 3.11 on)."""

    __str__ = int.__repr__


class MessageType(_Code):
    """DHCP message types (option 53, RFC 2132 9.6)."""

    DISCOVER = 1
    OFFER = 2
    REQUEST = 3
    DECLINE = 4
    ACK = 5
    NAK = 6
    RELEASE = 7
    INFORM = 8


class OptionCode(_Code):
    """Option codes: every option of the catalogue (OPTIONS), and the pad and end markers."""

    PAD = 0
    SUBNET_MASK = 1
    TIME_OFFSET = 2
    ROUTER = 3
    TIME_SERVER = 4
    DOMAIN_NAME_SERVER = 6
    LOG_SERVER = 7
    HOST_NAME = 12
    DOMAIN_NAME = 15
    ROOT_PATH = 17
    INTERFACE_MTU = 26
    BROADCAST_ADDRESS = 28
    STATIC_ROUTE = 33
    NIS_DOMAIN = 40
    NIS_SERVERS = 41
    NTP_SERVERS = 42
    VENDOR_SPECIFIC = 43
    NETBIOS_NAME_SERVERS = 44
    NETBIOS_NODE_TYPE = 46
    REQUESTED_ADDRESS = 50
    LEASE_TIME = 51
    OVERLOAD = 52
    MESSAGE_TYPE = 53
    SERVER_ID = 54
    PARAMETER_REQUEST_LIST = 55
    MESSAGE = 56
    MAX_MESSAGE_SIZE = 57
    RENEWAL_TIME = 58
    REBINDING_TIME = 59
    VENDOR_CLASS_ID = 60
    CLIENT_ID = 61
    TFTP_SERVER_NAME = 66
    BOOTFILE_NAME = 67
    USER_CLASS = 77
    RAPID_COMMIT = 80
    CLIENT_FQDN = 81
    RELAY_AGENT_INFO = 82
    CLIENT_ARCH = 93
    CLIENT_MACHINE_ID = 97
    IPV6_ONLY_PREFERRED = 108
    CAPTIVE_PORTAL = 114
    AUTO_CONFIGURE = 116
    SUBNET_SELECTION = 118
    DOMAIN_SEARCH = 119
    CLASSLESS_STATIC_ROUTE = 121
    VENDOR_IDENTIFYING = 125
    MS_CLASSLESS_STATIC_ROUTE = 249
    WPAD = 252
    END = 255


# The message types under their old module-level names (admin/, cli/ and the tests use them).
DISCOVER = MessageType.DISCOVER
OFFER = MessageType.OFFER
REQUEST = MessageType.REQUEST
DECLINE = MessageType.DECLINE
ACK = MessageType.ACK
NAK = MessageType.NAK
RELEASE = MessageType.RELEASE
INFORM = MessageType.INFORM

# A BOOTP request (RFC 951) has no option 53 (its message type is None); the chain's answer
# to it, a BOOTREPLY without option 53, goes by a number that no option 53 can hold.
BOOTP_REPLY = 0x100

# by number; no message type (None) has no name
MESSAGE_TYPE_NAMES: Mapping[int | None, str] = {t: t.name for t in MessageType}
# what the log and the counters call an exchange's request and reply: the message types, and
# BOOTP (None: no option 53) answered by a BOOTREPLY
EXCHANGE_NAMES: Mapping[int | None, str] = {**MESSAGE_TYPE_NAMES, None: "BOOTP",
                                            BOOTP_REPLY: "BOOTREPLY"}


def _ip_to_bytes(value: object) -> bytes:
    if not isinstance(value, str):
        raise OptionError("address must be a dotted string: %r" % (value,))
    try:
        return socket.inet_pton(socket.AF_INET, value)
    except (OSError, ValueError):
        raise OptionError("bad IPv4 address: %r" % (value,)) from None


def _check_bytes(value: object) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise OptionError("expected bytes, got %r" % (type(value).__name__,))
    return bytes(value)


# Value types.  Each one has encode(value) -> bytes and decode(raw) -> value.  encode takes
# any object and raises OptionError for one that is not of its kind: values come from the
# inventory and the API as well as from the code.

T_co = TypeVar("T_co", covariant=True)


class ValueType(Protocol[T_co]):
    """How one kind of option value is written and read."""

    def encode(self, value: object) -> bytes: ...

    def decode(self, raw: bytes) -> T_co: ...


Route = tuple[str, str]  # (network "a.b.c.d/n", router "a.b.c.d")
SubOption = tuple[int, bytes]  # an option 82 sub-option: (subcode, data)


class _IP:
    """One IPv4 address, value "a.b.c.d"."""

    def encode(self, value: object) -> bytes:
        return _ip_to_bytes(value)

    def decode(self, raw: bytes) -> str:
        if len(raw) != 4:
            raise OptionError("address must be 4 bytes, got %d" % len(raw))
        return socket.inet_ntoa(raw)


class _IPList:
    """One or more IPv4 addresses, value ["a.b.c.d", ...]."""

    def encode(self, value: object) -> bytes:
        if not isinstance(value, (list, tuple)) or not value:
            raise OptionError("expected a non-empty list of addresses")
        return b"".join(_ip_to_bytes(v) for v in value)

    def decode(self, raw: bytes) -> list[str]:
        if not raw or len(raw) % 4:
            raise OptionError("address list length %d is not 4n" % len(raw))
        return [socket.inet_ntoa(raw[i:i + 4]) for i in range(0, len(raw), 4)]


class _Int:
    """A fixed-size integer."""

    def __init__(self, fmt: str, low: int, high: int):
        self._struct = struct.Struct("!" + fmt)
        self._low = low
        self._high = high

    def encode(self, value: object) -> bytes:
        if (not isinstance(value, int) or isinstance(value, bool)
                or not self._low <= value <= self._high):
            raise OptionError("%r is not an integer in [%d, %d]"
                              % (value, self._low, self._high))
        return self._struct.pack(value)

    def decode(self, raw: bytes) -> int:
        if len(raw) != self._struct.size:
            raise OptionError("expected %d bytes, got %d"
                              % (self._struct.size, len(raw)))
        number: int = self._struct.unpack(raw)[0]
        return number


class _Bool:
    """RFC 2132 flag: one byte, 0 or 1."""

    def encode(self, value: object) -> bytes:
        if not isinstance(value, bool):
            raise OptionError("expected a bool, got %r" % (value,))
        return b"\x01" if value else b"\x00"

    def decode(self, raw: bytes) -> bool:
        if raw not in (b"\x00", b"\x01"):
            raise OptionError("a flag is one byte 0 or 1, got %r" % (raw,))
        return raw == b"\x01"


class _Text:
    """A string (NVT ASCII in RFC 2132; UTF-8 here)."""

    def encode(self, value: object) -> bytes:
        if not isinstance(value, str) or not value:
            raise OptionError("expected a non-empty string, got %r" % (value,))
        return value.encode("utf-8")

    def decode(self, raw: bytes) -> str:
        if not raw:
            raise OptionError("text options have at least 1 byte")
        # RFC 2132 section 2: receivers MUST delete trailing NULs.
        return bytes(raw).rstrip(b"\x00").decode("utf-8", errors="replace")


class _Bytes:
    """Opaque bytes, passed through."""

    def encode(self, value: object) -> bytes:
        return _check_bytes(value)

    def decode(self, raw: bytes) -> bytes:
        return bytes(raw)


class _ByteList:
    """A list of small integers, one per byte (option 55)."""

    def encode(self, value: object) -> bytes:
        if not isinstance(value, (list, tuple)):
            raise OptionError("expected a list of ints 0..255, got %r" % (value,))
        try:
            return bytes(value)
        except (TypeError, ValueError):
            raise OptionError("expected a list of ints 0..255, got %r"
                              % (value,)) from None

    def decode(self, raw: bytes) -> list[int]:
        return list(raw)


class _ClientID:
    """Option 61: a type byte and at least one byte of identifier."""

    def encode(self, value: object) -> bytes:
        return self.decode(_check_bytes(value))

    def decode(self, raw: bytes) -> bytes:
        if len(raw) < 2:
            raise OptionError("client identifier needs at least 2 bytes")
        return bytes(raw)


def _split_name(name: object) -> list[bytes]:
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


def _labels_to_wire(labels: list[bytes]) -> list[bytes]:
    return [bytes((len(label),)) + label for label in labels]


def _read_labels(raw: bytes, pos: int,
                 compressed: bool) -> tuple[list[bytes], bool, int]:
    """Read one name at pos -> (labels, terminated, next_pos).

    next_pos is where the data after this name starts.  With compressed,
    pointers (RFC 1035 4.1.4) are followed; a pointer seen twice is a loop.
    Without it a name may end at the end of data (RFC 4702 partial name).
    """
    labels: list[bytes] = []
    wire_length = 1
    next_pos: int | None = None
    seen: set[int] = set()
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


def _join_labels(labels: list[bytes]) -> str:
    return ".".join(label.decode("ascii", errors="replace") for label in labels)


class _DomainList:
    """Option 119 (RFC 3397): domain names in RFC 1035 form, compressed.

    Value: ["example.com", "corp.example.com"], no trailing dots.  Pointers
    count from the start of the (concatenated) option value.
    """

    def encode(self, value: object) -> bytes:
        if not isinstance(value, (list, tuple)) or not value:
            raise OptionError("expected a non-empty list of domain names")
        out = bytearray()
        known: dict[tuple[bytes, ...], int] = {}  # tuple of labels -> offset of that suffix
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

    def decode(self, raw: bytes) -> list[str]:
        names: list[str] = []
        pos = 0
        while pos < len(raw):
            labels, _, pos = _read_labels(raw, pos, compressed=True)
            names.append(_join_labels(labels))
        return names


class _ClasslessRoutes:
    """Options 121 and 249 (RFC 3442).

    Value: [("10.0.0.0/8", "192.0.2.1"), ("0.0.0.0/0", "192.0.2.1")].
    """

    def encode(self, value: object) -> bytes:
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

    def decode(self, raw: bytes) -> list[Route]:
        routes: list[Route] = []
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

    flags: int = attr.ib(default=0)
    rcode1: int = attr.ib(default=0)
    rcode2: int = attr.ib(default=0)
    name: str = attr.ib(default="")


class _FQDN:
    """Option 81 (RFC 4702): flags, two RCODEs, then the name.

    With the E flag the name is in RFC 1035 wire format without compression:
    ending in a root label when fully qualified ("host.example.com." in the
    value), without it when partial ("host").  Without E it is ASCII.
    """

    def encode(self, value: object) -> bytes:
        if isinstance(value, ClientFQDN):
            value = (value.flags, value.rcode1, value.rcode2, value.name)
        if not isinstance(value, Iterable):
            raise OptionError("bad client FQDN value %r" % (value,))
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

    def decode(self, raw: bytes) -> "ClientFQDN":
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

    def encode(self, value: object) -> bytes:
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

    def decode(self, raw: bytes) -> list[SubOption]:
        subs: list[SubOption] = []
        pos = 0
        while pos < len(raw):
            if pos + 2 > len(raw) or pos + 2 + raw[pos + 1] > len(raw):
                raise OptionError("truncated relay agent sub-option")
            end = pos + 2 + raw[pos + 1]
            subs.append((raw[pos], bytes(raw[pos + 2:end])))
            pos = end
        return subs


# What an option's value may be, decoded (each value type's decode gives one of these).
OptionValue = (str | int | bytes | list[str] | list[int] | list[Route] | list[SubOption]
               | ClientFQDN)

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
    code: int = attr.ib()
    name: str = attr.ib()
    type: "ValueType[OptionValue]" = attr.ib()


OPTIONS = {o.code: o for o in [
    Option(OptionCode.SUBNET_MASK, "subnet-mask", IP),
    Option(OptionCode.TIME_OFFSET, "time-offset", S32),
    Option(OptionCode.ROUTER, "router", IPList),
    Option(OptionCode.TIME_SERVER, "time-server", IPList),
    Option(OptionCode.DOMAIN_NAME_SERVER, "domain-name-server", IPList),
    Option(OptionCode.LOG_SERVER, "log-server", IPList),
    Option(OptionCode.HOST_NAME, "host-name", Text),
    Option(OptionCode.DOMAIN_NAME, "domain-name", Text),
    Option(OptionCode.ROOT_PATH, "root-path", Text),
    Option(OptionCode.INTERFACE_MTU, "interface-mtu", U16),
    Option(OptionCode.BROADCAST_ADDRESS, "broadcast-address", IP),
    Option(OptionCode.STATIC_ROUTE, "static-route", Bytes),
    Option(OptionCode.NIS_DOMAIN, "nis-domain", Text),
    Option(OptionCode.NIS_SERVERS, "nis-servers", IPList),
    Option(OptionCode.NTP_SERVERS, "ntp-servers", IPList),
    Option(OptionCode.VENDOR_SPECIFIC, "vendor-specific", Bytes),
    Option(OptionCode.NETBIOS_NAME_SERVERS, "netbios-name-servers", IPList),
    Option(OptionCode.NETBIOS_NODE_TYPE, "netbios-node-type", U8),
    Option(OptionCode.REQUESTED_ADDRESS, "requested-address", IP),
    Option(OptionCode.LEASE_TIME, "lease-time", U32),
    Option(OptionCode.OVERLOAD, "overload", U8),
    Option(OptionCode.MESSAGE_TYPE, "message-type", U8),
    Option(OptionCode.SERVER_ID, "server-identifier", IP),
    Option(OptionCode.PARAMETER_REQUEST_LIST, "parameter-request-list", ByteList),
    Option(OptionCode.MESSAGE, "message", Text),
    Option(OptionCode.MAX_MESSAGE_SIZE, "max-message-size", U16),
    Option(OptionCode.RENEWAL_TIME, "renewal-time", U32),
    Option(OptionCode.REBINDING_TIME, "rebinding-time", U32),
    Option(OptionCode.VENDOR_CLASS_ID, "vendor-class-identifier", Bytes),
    Option(OptionCode.CLIENT_ID, "client-identifier", ClientID),
    Option(OptionCode.TFTP_SERVER_NAME, "tftp-server-name", Text),
    Option(OptionCode.BOOTFILE_NAME, "bootfile-name", Text),
    Option(OptionCode.USER_CLASS, "user-class", Bytes),
    Option(OptionCode.RAPID_COMMIT, "rapid-commit", Bytes),
    Option(OptionCode.CLIENT_FQDN, "client-fqdn", FQDN),
    Option(OptionCode.RELAY_AGENT_INFO, "relay-agent-information", RelayAgentInfo),
    Option(OptionCode.CLIENT_ARCH, "client-arch", Bytes),
    Option(OptionCode.CLIENT_MACHINE_ID, "client-machine-id", Bytes),
    Option(OptionCode.IPV6_ONLY_PREFERRED, "ipv6-only-preferred", U32),
    Option(OptionCode.CAPTIVE_PORTAL, "captive-portal", Text),
    Option(OptionCode.AUTO_CONFIGURE, "auto-configure", U8),
    Option(OptionCode.SUBNET_SELECTION, "subnet-selection", IP),
    Option(OptionCode.DOMAIN_SEARCH, "domain-search", DomainList),
    Option(OptionCode.CLASSLESS_STATIC_ROUTE, "classless-static-route", ClasslessRoutes),
    # RFC 3925: raw here (hex in `option-125`); dhcp4/vendor.py knows its layout (`vivso`)
    Option(OptionCode.VENDOR_IDENTIFYING, "vi-vendor-specific", Bytes),
    Option(OptionCode.MS_CLASSLESS_STATIC_ROUTE, "ms-classless-static-route", ClasslessRoutes),
    Option(OptionCode.WPAD, "wpad", Text),
]}

_BY_NAME = {o.name: o for o in OPTIONS.values()}


def by_name(name: str) -> Option:
    """The Option called name; OptionError if there is none."""
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise OptionError("unknown option name %r" % (name,)) from None


def _type_for(code: int) -> ValueType[OptionValue]:
    option = OPTIONS.get(code)
    if option is not None:
        return option.type
    if isinstance(code, int) and 1 <= code <= 254:
        return Bytes
    raise OptionError("option code must be 1..254, got %r" % (code,))


def encode_option(code: int, value: object) -> bytes:
    """The raw bytes of option code carrying value (unknown codes: bytes)."""
    return _type_for(code).encode(value)


def decode_option(code: int, raw: bytes) -> OptionValue:
    """The value of option code from its raw bytes (unknown codes: bytes)."""
    return _type_for(code).decode(raw)
