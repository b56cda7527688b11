"""DHCP Unique Identifiers (RFC 8415 11; DUID-UUID RFC 6355): read into their parts, and
built for a server's own identifier.

Knows the four DUID layouts and which of them carry a link-layer address (LLT and LL), so a
host can be found by its MAC. codec.DUID is the construct specification of the layouts.
Knows nothing about where a DUID comes from (options 1 and 2) or how one is stored.
"""

import struct
import uuid

import attr

from apidhcpd.dhcp6.options import DUIDType
from apidhcpd.dhcp6.values import OptionError

MAX_DUID = 130  # a 2-byte type and at most 128 bytes (RFC 8415 11.1)
MIN_DUID = 3    # a type and at least one byte of identifier
HW_ETHERNET = 1  # ARP hardware type (RFC 826)
DUID_EPOCH = 946684800  # 2000-01-01 00:00:00 UTC, where DUID-LLT times count from

_LLT, _EN, _LL, _UUID = DUIDType.LLT, DUIDType.EN, DUIDType.LL, DUIDType.UUID


@attr.s(frozen=True, slots=True)
class DUID:
    """A DUID: its bytes, its type, and the fields its type has (None for the others)."""

    raw: bytes = attr.ib()
    type: int = attr.ib()
    hardware_type: int | None = attr.ib(default=None)  # LLT, LL
    time: int | None = attr.ib(default=None)           # LLT: seconds since 2000
    link_layer: bytes | None = attr.ib(default=None)   # LLT, LL
    enterprise: int | None = attr.ib(default=None)     # EN
    identifier: bytes | None = attr.ib(default=None)   # EN
    uuid: bytes | None = attr.ib(default=None)         # UUID: 16 bytes

    @property
    def mac(self) -> str | None:
        """The Ethernet address of a DUID-LLT or DUID-LL ("aa:bb:cc:dd:ee:ff"), else None."""
        if (self.hardware_type == HW_ETHERNET and self.link_layer is not None
                and len(self.link_layer) == 6):
            return self.link_layer.hex(":")
        return None

    @property
    def hex(self) -> str:
        return self.raw.hex()


def parse(raw: bytes) -> DUID:
    """The DUID in raw; OptionError when it is too short or long, or its type's fixed
    fields do not fit. A type this module does not know is kept whole, as `raw`."""
    raw = bytes(raw)
    n = len(raw)
    if not MIN_DUID <= n <= MAX_DUID:
        raise OptionError("a DUID is %d-%d bytes, got %d" % (MIN_DUID, MAX_DUID, n))
    kind = (raw[0] << 8) | raw[1]
    if kind == _LLT:
        if n < 8:
            raise OptionError("DUID-LLT needs 8 bytes, got %d" % n)
        hw, time = struct.unpack_from("!HI", raw, 2)
        return DUID(raw, kind, hardware_type=hw, time=time, link_layer=raw[8:])
    if kind == _EN:
        if n < 6:
            raise OptionError("DUID-EN needs 6 bytes, got %d" % n)
        return DUID(raw, kind, enterprise=int.from_bytes(raw[2:6], "big"),
                    identifier=raw[6:])
    if kind == _LL:
        if n < 4:
            raise OptionError("DUID-LL needs 4 bytes, got %d" % n)
        return DUID(raw, kind, hardware_type=(raw[2] << 8) | raw[3], link_layer=raw[4:])
    if kind == _UUID:
        if n != 18:
            raise OptionError("DUID-UUID is 18 bytes, got %d" % n)
        return DUID(raw, kind, uuid=raw[2:])
    return DUID(raw, kind)


def _mac_bytes(mac: str) -> bytes:
    try:
        raw = bytes.fromhex(mac.replace(":", "").replace("-", ""))
    except (AttributeError, ValueError):
        raise OptionError("bad MAC address %r" % (mac,)) from None
    if len(raw) != 6:
        raise OptionError("a MAC address is 6 bytes: %r" % (mac,))
    return raw


def duid_ll(mac: str) -> bytes:
    """DUID-LL of an Ethernet address."""
    return struct.pack("!HH", _LL, HW_ETHERNET) + _mac_bytes(mac)


def duid_llt(mac: str, unix_time: int) -> bytes:
    """DUID-LLT of an Ethernet address, made at unix_time (kept as seconds since 2000)."""
    seconds = (unix_time - DUID_EPOCH) & 0xFFFFFFFF
    return struct.pack("!HHI", _LLT, HW_ETHERNET, seconds) + _mac_bytes(mac)


def duid_en(enterprise: int, identifier: bytes) -> bytes:
    """DUID-EN: an enterprise number and an identifier (at most 124 bytes)."""
    if not identifier or len(identifier) > MAX_DUID - 6:
        raise OptionError("a DUID-EN identifier is 1-%d bytes" % (MAX_DUID - 6))
    try:
        return struct.pack("!HI", _EN, enterprise) + bytes(identifier)
    except struct.error as e:
        raise OptionError("bad enterprise number: %s" % e) from None


def duid_uuid(value: uuid.UUID) -> bytes:
    """DUID-UUID (RFC 6355)."""
    return struct.pack("!H", _UUID) + value.bytes
