"""Domain names in DHCPv6 option values: RFC 1035 3.1 labels, never compressed (RFC 8415
10): one name, a list of names (option 24), the client FQDN (39, RFC 4704, whose name may be
partial), and the NTP server option (56, RFC 5908), whose time sources are addresses or names.

Value types as in values.py. Knows nothing about option codes, messages or the packet.
"""

import ipaddress

import attr

from apidhcpd.dhcp6.values import (
    OptionError,
    RawOption,
    address_from_bytes,
    pack_options,
    scan_options,
    split_text,
)


def name_to_wire(name: object, terminated: bool = True) -> bytes:
    """The wire form of "host.example.com" (a trailing dot is allowed); without the root
    label when not `terminated` (a partial name, RFC 4704)."""
    if not isinstance(name, str):
        raise OptionError("a domain name is a string, got %r" % (name,))
    text = name[:-1] if name.endswith(".") else name
    if not text:
        raise OptionError("empty domain name")
    try:
        labels = [label.encode("ascii") for label in text.split(".")]
    except UnicodeEncodeError:
        raise OptionError("domain name is not ASCII (use punycode): %r" % (name,)) from None
    wire = bytearray()
    for label in labels:
        if not 1 <= len(label) <= 63:
            raise OptionError("bad label length in %r" % (name,))
        wire.append(len(label))
        wire += label
    if terminated:
        wire.append(0)
    if len(wire) > 255:
        raise OptionError("domain name longer than 255 bytes: %r" % (name,))
    return bytes(wire)


def read_name(raw: bytes, pos: int) -> tuple[str, bool, int]:
    """The name at raw[pos:] -> (name without trailing dot, terminated, next position).

    A name that reaches the end of raw without a root label is partial (not terminated).
    """
    labels: list[str] = []
    end = len(raw)
    length = 1
    while pos < end:
        n = raw[pos]
        if n == 0:
            return ".".join(labels), True, pos + 1
        if n > 63:
            raise OptionError("label length %d (compression is not allowed)" % n)
        if pos + 1 + n > end:
            raise OptionError("label runs past the end")
        length += n + 1
        if length > 255:
            raise OptionError("domain name longer than 255 bytes")
        label = bytes(raw[pos + 1:pos + 1 + n])
        if not label.isascii() or b"." in label:
            raise OptionError("label %r is not a plain ASCII label" % (label,))
        labels.append(label.decode("ascii"))
        pos += 1 + n
    return ".".join(labels), False, pos


class _DomainName:
    """One fully qualified domain name, value "example.com"."""

    def encode(self, value: object) -> bytes:
        return name_to_wire(value)

    def decode(self, raw: bytes) -> str:
        name, terminated, pos = read_name(raw, 0)
        if not terminated or not name or pos != len(raw):
            raise OptionError("not one terminated domain name")
        return name

    def parse(self, text: str) -> str:
        return self.decode(self.encode(text.strip()))


class _DomainList:
    """Domain names one after the other (option 24, RFC 3646 4), value
    ["example.com", "corp.example.com"]."""

    def encode(self, value: object) -> bytes:
        if not isinstance(value, (list, tuple)) or not value:
            raise OptionError("expected a non-empty list of domain names")
        return b"".join(name_to_wire(name) for name in value)

    def decode(self, raw: bytes) -> list[str]:
        names: list[str] = []
        pos = 0
        if not raw:
            raise OptionError("an empty domain list")
        while pos < len(raw):
            name, terminated, pos = read_name(raw, pos)
            if not terminated or not name:
                raise OptionError("domain list holds a partial or empty name")
            names.append(name)
        return names

    def parse(self, text: str) -> list[str]:
        return self.decode(self.encode(split_text(text)))


# RFC 5908 sub-options of the NTP server option (56)
NTP_SERVER_ADDRESS = 1
NTP_MULTICAST_ADDRESS = 2
NTP_SERVER_FQDN = 3


class _NTPServers:
    """Option 56 (RFC 5908): one sub-option per time source, value ["2001:db8::123",
    "ntp.example.com"]: a unicast address goes as sub-option 1, a multicast one as 2, a
    name as 3."""

    def encode(self, value: object) -> bytes:
        if not isinstance(value, (list, tuple)) or not value:
            raise OptionError("expected a non-empty list of NTP servers")
        subs: list[RawOption] = []
        for server in value:
            if not isinstance(server, str):
                raise OptionError("an NTP server is a string, got %r" % (server,))
            try:
                address = ipaddress.IPv6Address(server)
            except ValueError:
                subs.append((NTP_SERVER_FQDN, name_to_wire(server)))
                continue
            kind = NTP_MULTICAST_ADDRESS if address.is_multicast else NTP_SERVER_ADDRESS
            subs.append((kind, address.packed))
        return pack_options(subs)

    def decode(self, raw: bytes) -> list[str]:
        servers: list[str] = []
        subs = scan_options(raw, 0, len(raw))
        if not subs:
            raise OptionError("an NTP server option without sub-options")
        for code, data in subs:
            if code in (NTP_SERVER_ADDRESS, NTP_MULTICAST_ADDRESS):
                servers.append(address_from_bytes(data))
            elif code == NTP_SERVER_FQDN:
                servers.append(DomainName.decode(data))
            else:
                raise OptionError("unknown NTP sub-option %d" % code)
        return servers

    def parse(self, text: str) -> list[str]:
        return self.decode(self.encode(split_text(text)))



FQDN_S = 0x01  # the server should do the AAAA update
FQDN_O = 0x02  # the server overrode the client's S choice
FQDN_N = 0x04  # the server should do no DNS updates


@attr.s(frozen=True, slots=True)
class ClientFQDN:
    """Value of option 39.  A name ending in "." is fully qualified, else partial."""

    flags: int = attr.ib(default=0)
    name: str = attr.ib(default="")


class _FQDN:
    """Option 39 (RFC 4704): a flags byte, then a name in wire form, partial or not, or
    nothing."""

    def encode(self, value: object) -> bytes:
        if not isinstance(value, ClientFQDN) or not 0 <= value.flags <= 0xFF:
            raise OptionError("expected a ClientFQDN, got %r" % (value,))
        if value.name in ("", "."):
            return bytes((value.flags,))
        return bytes((value.flags,)) + name_to_wire(value.name, value.name.endswith("."))

    def decode(self, raw: bytes) -> ClientFQDN:
        if not raw:
            raise OptionError("a client FQDN option has at least the flags byte")
        name, terminated, pos = read_name(raw, 1)
        if pos != len(raw):
            raise OptionError("data after the FQDN's root label")
        return ClientFQDN(raw[0], name + "." if terminated and name else name)

    def parse(self, text: str) -> ClientFQDN:
        flags, _, name = text.strip().partition(" ")
        try:
            return self.decode(self.encode(ClientFQDN(int(flags, 0), name.strip())))
        except ValueError as e:
            raise OptionError(str(e)) from None


DomainName = _DomainName()
DomainList = _DomainList()
NTPServers = _NTPServers()
FQDN = _FQDN()
