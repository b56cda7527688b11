"""Identity associations as values: IA_NA, IA_TA and IA_PD with their addresses (IAADDR),
prefixes (IAPREFIX) and status (RFC 8415 21.4-21.6, 21.21-21.22), read and written.

The hot path's reader and writer of these option values; codec.py's construct definitions
are their specification (tests/test_dhcp6_codec.py holds them together). Knows nothing
about messages, leases or which lifetimes a server should give.
"""

import ipaddress
import socket
import struct

import attr

from apidhcpd.dhcp6.options import OptionCode
from apidhcpd.dhcp6.values import (
    OptionError,
    RawOption,
    Status,
    StatusValue,
    pack_options,
    scan_options,
)

IA_NA, IA_TA, IA_PD = OptionCode.IA_NA, OptionCode.IA_TA, OptionCode.IA_PD
IA_CODES = frozenset((IA_NA, IA_TA, IA_PD))
_IAADDR = OptionCode.IAADDR
_IAPREFIX = OptionCode.IAPREFIX
_STATUS = OptionCode.STATUS_CODE
INFINITY = 0xFFFFFFFF  # a lifetime that never ends (RFC 8415 7.7)

_III = struct.Struct("!III")
_ADDR = struct.Struct("!16sII")    # address, preferred, valid
_PREFIX = struct.Struct("!IIB16s")  # preferred, valid, prefix length, prefix


def _split(options: list[RawOption], wanted: int) -> tuple[list[bytes], Status | None,
                                                          tuple[RawOption, ...]]:
    """(the values of `wanted`, the first status, every other option in order)."""
    found: list[bytes] = []
    status: Status | None = None
    others: list[RawOption] = []
    for code, value in options:
        if code == wanted:
            found.append(value)
        elif code == _STATUS and status is None:
            status = StatusValue.decode(value)
        else:
            others.append((code, value))
    return found, status, tuple(others)


def _tail(status: Status | None, others: tuple[RawOption, ...]) -> list[RawOption]:
    tail = [] if status is None else [(int(_STATUS), StatusValue.encode(status))]
    return tail + list(others)


@attr.s(frozen=True, slots=True)
class IAAddress:
    """An IAADDR option: an address with its lifetimes, status and other options."""

    address: str = attr.ib()
    preferred: int = attr.ib(default=0)
    valid: int = attr.ib(default=0)
    status: Status | None = attr.ib(default=None)
    options: tuple[RawOption, ...] = attr.ib(default=())

    def encode(self) -> bytes:
        try:
            head = _ADDR.pack(socket.inet_pton(socket.AF_INET6, self.address),
                              self.preferred, self.valid)
        except (OSError, TypeError, ValueError, struct.error) as e:
            raise OptionError("cannot encode IAADDR: %s" % e) from None
        return head + pack_options(_tail(self.status, self.options))

    @classmethod
    def decode(cls, raw: bytes) -> "IAAddress":
        if len(raw) < 24:
            raise OptionError("IAADDR needs 24 bytes, got %d" % len(raw))
        address, preferred, valid = _ADDR.unpack_from(raw)
        _, status, others = _split(scan_options(raw, 24, len(raw)), -1)
        return cls(socket.inet_ntop(socket.AF_INET6, address), preferred, valid, status,
                   others)


@attr.s(frozen=True, slots=True)
class IAPrefix:
    """An IAPREFIX option: a prefix with its lifetimes, status and other options."""

    prefix: str = attr.ib()
    prefix_length: int = attr.ib()
    preferred: int = attr.ib(default=0)
    valid: int = attr.ib(default=0)
    status: Status | None = attr.ib(default=None)
    options: tuple[RawOption, ...] = attr.ib(default=())

    @property
    def network(self) -> ipaddress.IPv6Network:
        """The prefix as a network (bits beyond prefix_length cleared)."""
        return ipaddress.IPv6Network((self.prefix, self.prefix_length), strict=False)

    def encode(self) -> bytes:
        if not isinstance(self.prefix_length, int) or not 0 <= self.prefix_length <= 128:
            raise OptionError("prefix length %r is not 0-128" % (self.prefix_length,))
        try:
            head = _PREFIX.pack(self.preferred, self.valid, self.prefix_length,
                                socket.inet_pton(socket.AF_INET6, self.prefix))
        except (OSError, TypeError, ValueError, struct.error) as e:
            raise OptionError("cannot encode IAPREFIX: %s" % e) from None
        return head + pack_options(_tail(self.status, self.options))

    @classmethod
    def decode(cls, raw: bytes) -> "IAPrefix":
        if len(raw) < 25:
            raise OptionError("IAPREFIX needs 25 bytes, got %d" % len(raw))
        preferred, valid, length, prefix = _PREFIX.unpack_from(raw)
        if length > 128:
            raise OptionError("prefix length %d > 128" % length)
        _, status, others = _split(scan_options(raw, 25, len(raw)), -1)
        return cls(socket.inet_ntop(socket.AF_INET6, prefix), length, preferred, valid,
                   status, others)


@attr.s(frozen=True, slots=True)
class IA:
    """An IA_NA, IA_TA or IA_PD (`code`): its IAID, T1 and T2 (always 0 in an IA_TA), its
    addresses (NA, TA) or prefixes (PD), its status and any other options, in order."""

    code: int = attr.ib()
    iaid: int = attr.ib()
    t1: int = attr.ib(default=0)
    t2: int = attr.ib(default=0)
    addresses: tuple[IAAddress, ...] = attr.ib(default=())
    prefixes: tuple[IAPrefix, ...] = attr.ib(default=())
    status: Status | None = attr.ib(default=None)
    options: tuple[RawOption, ...] = attr.ib(default=())

    def encode(self) -> bytes:
        """The option value: header, then addresses, prefixes, status, other options."""
        if self.code not in IA_CODES:
            raise OptionError("%r is not an IA option code" % (self.code,))
        inner = ([(int(_IAADDR), a.encode()) for a in self.addresses]
                 + [(int(_IAPREFIX), p.encode()) for p in self.prefixes]
                 + _tail(self.status, self.options))
        try:
            if self.code == IA_TA:
                if self.t1 or self.t2:
                    raise OptionError("an IA_TA has no T1 or T2")
                head = struct.pack("!I", self.iaid)
            else:
                head = _III.pack(self.iaid, self.t1, self.t2)
        except (struct.error, TypeError) as e:
            raise OptionError("cannot encode IA: %s" % e) from None
        return head + pack_options(inner)

    @classmethod
    def decode(cls, code: int, raw: bytes) -> "IA":
        """The IA in the value of option `code` (3, 4 or 25); OptionError if malformed,
        including any address, prefix or status in it."""
        if code == IA_TA:
            if len(raw) < 4:
                raise OptionError("IA_TA needs 4 bytes, got %d" % len(raw))
            iaid, t1, t2, start = int.from_bytes(raw[:4], "big"), 0, 0, 4
        elif code in IA_CODES:
            if len(raw) < 12:
                raise OptionError("IA_NA/IA_PD needs 12 bytes, got %d" % len(raw))
            (iaid, t1, t2), start = _III.unpack_from(raw), 12
        else:
            raise OptionError("%r is not an IA option code" % (code,))
        options = scan_options(raw, start, len(raw))
        if code == IA_PD:
            found, status, others = _split(options, _IAPREFIX)
            return cls(code, iaid, t1, t2, (), tuple(IAPrefix.decode(v) for v in found),
                       status, others)
        found, status, others = _split(options, _IAADDR)
        return cls(code, iaid, t1, t2, tuple(IAAddress.decode(v) for v in found), (),
                   status, others)
