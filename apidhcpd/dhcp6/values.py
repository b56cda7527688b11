"""How one DHCPv6 option value is written and read (RFC 8415 and the option RFCs).

Knows value layouts as bytes without the option's own code and length: addresses, integers,
UTF-8 text, lists of 16-bit codes, opaque-data lists, the status code, enterprise and
link-layer data, and the 2-byte-code 2-byte-length framing that option lists nested in
values use (IA, vendor options, NTP sub-options). Each value type also reads the text form
an inventory field holds. Domain names are names.py. Knows nothing about option codes
(options.py), messages (message.py) or the packet (codec.py).
"""

import socket
import struct
from collections.abc import Sequence
from typing import Protocol, TypeVar

import attr


class OptionError(ValueError):
    """An option value (or a nested option list) that cannot be encoded or decoded."""


RawOption = tuple[int, bytes]  # (code, value), the unit of every option list

# A list holds at most this many options: a 64 KiB message could frame 16k empty ones,
# and no client, relay or server sends more than a few dozen.
MAX_OPTIONS = 256

_HH = struct.Struct("!HH")


def scan_options(data: bytes, start: int, end: int) -> list[RawOption]:
    """The options framed in data[start:end] (2-byte code, 2-byte length, value), in order.

    OptionError when the last one runs past `end`, when bytes are left that cannot hold a
    header, or when there are more than MAX_OPTIONS.
    """
    out: list[RawOption] = []
    append = out.append
    i = start
    while i < end:
        if i + 4 > end:
            raise OptionError("%d bytes left where an option header needs 4" % (end - i))
        code = (data[i] << 8) | data[i + 1]
        j = i + 4 + ((data[i + 2] << 8) | data[i + 3])
        if j > end:
            raise OptionError("option %d runs %d bytes past the end" % (code, j - end))
        if len(out) == MAX_OPTIONS:
            raise OptionError("more than %d options" % MAX_OPTIONS)
        append((code, data[i + 4:j]))
        i = j
    return out


def pack_options(options: Sequence[RawOption]) -> bytes:
    """The framing of options, in order; OptionError for a code or length out of range."""
    try:
        return b"".join([_HH.pack(code, len(value)) + value for code, value in options])
    except (struct.error, TypeError, ValueError) as e:
        raise OptionError("cannot frame options: %s" % e) from None


def split_text(text: str) -> list[str]:
    """The items of a comma or space separated inventory value."""
    return [part for part in text.replace(",", " ").split() if part]


def _hex(text: str) -> bytes:
    try:
        return bytes.fromhex(text.replace(":", "").replace("0x", "").replace(" ", ""))
    except ValueError:
        raise OptionError("not hex: %r" % (text,)) from None


def _check_bytes(value: object) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise OptionError("expected bytes, got %r" % (type(value).__name__,))
    return bytes(value)


def address_to_bytes(value: object) -> bytes:
    """The 16 bytes of an IPv6 address written as text."""
    if not isinstance(value, str):
        raise OptionError("an IPv6 address is a string, got %r" % (value,))
    try:
        return socket.inet_pton(socket.AF_INET6, value)
    except (OSError, ValueError):
        raise OptionError("bad IPv6 address: %r" % (value,)) from None


def address_from_bytes(raw: bytes) -> str:
    if len(raw) != 16:
        raise OptionError("an IPv6 address is 16 bytes, got %d" % len(raw))
    return socket.inet_ntop(socket.AF_INET6, raw)


T_co = TypeVar("T_co", covariant=True)


class ValueType(Protocol[T_co]):
    """How one kind of option value is written and read, and read from inventory text."""

    def encode(self, value: object) -> bytes: ...

    def decode(self, raw: bytes) -> T_co: ...

    def parse(self, text: str) -> T_co: ...


class _Address:
    """One IPv6 address, value "2001:db8::1"."""

    def encode(self, value: object) -> bytes:
        return address_to_bytes(value)

    def decode(self, raw: bytes) -> str:
        return address_from_bytes(raw)

    def parse(self, text: str) -> str:
        return self.decode(self.encode(text.strip()))


class _AddressList:
    """One or more IPv6 addresses, value ["2001:db8::53", ...]; text comma separated."""

    def encode(self, value: object) -> bytes:
        if not isinstance(value, (list, tuple)) or not value:
            raise OptionError("expected a non-empty list of IPv6 addresses")
        return b"".join(address_to_bytes(v) for v in value)

    def decode(self, raw: bytes) -> list[str]:
        if not raw or len(raw) % 16:
            raise OptionError("address list length %d is not 16n" % len(raw))
        ntop = socket.inet_ntop
        return [ntop(socket.AF_INET6, raw[i:i + 16]) for i in range(0, len(raw), 16)]

    def parse(self, text: str) -> list[str]:
        return self.decode(self.encode(split_text(text)))


class _Int:
    """An unsigned integer of a fixed size."""

    def __init__(self, fmt: str):
        self._struct = struct.Struct("!" + fmt)
        self._high = (1 << (8 * self._struct.size)) - 1

    def encode(self, value: object) -> bytes:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= self._high:
            raise OptionError("%r is not an integer in [0, %d]" % (value, self._high))
        return self._struct.pack(value)

    def decode(self, raw: bytes) -> int:
        if len(raw) != self._struct.size:
            raise OptionError("expected %d bytes, got %d" % (self._struct.size, len(raw)))
        number: int = self._struct.unpack(raw)[0]
        return number

    def parse(self, text: str) -> int:
        try:
            return self.decode(self.encode(int(text.strip(), 0)))
        except ValueError as e:
            raise OptionError(str(e)) from None


class _Flag:
    """An option that says something by being there (rapid commit, reconfigure accept): no
    bytes; value True."""

    def encode(self, value: object) -> bytes:
        if value is not True:
            raise OptionError("a flag option's value is True, got %r" % (value,))
        return b""

    def decode(self, raw: bytes) -> bool:
        if raw:
            raise OptionError("a flag option has no data, got %d bytes" % len(raw))
        return True

    def parse(self, text: str) -> bool:
        if text.strip().lower() not in ("", "1", "true", "yes", "on"):
            raise OptionError("a flag option is written empty or as true, not %r" % (text,))
        return True


class _Text:
    """UTF-8 text, not empty (a URL, a time zone, a status message)."""

    def encode(self, value: object) -> bytes:
        if not isinstance(value, str) or not value:
            raise OptionError("expected a non-empty string, got %r" % (value,))
        return value.encode("utf-8")

    def decode(self, raw: bytes) -> str:
        if not raw:
            raise OptionError("a text option has at least 1 byte")
        try:
            return bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise OptionError("text is not UTF-8") from None

    def parse(self, text: str) -> str:
        return self.decode(self.encode(text))


class _Bytes:
    """Opaque bytes, passed through; text is hex ("0a:0b" or "0a0b")."""

    def encode(self, value: object) -> bytes:
        return _check_bytes(value)

    def decode(self, raw: bytes) -> bytes:
        return bytes(raw)

    def parse(self, text: str) -> bytes:
        return _hex(text)


class _CodeList:
    """16-bit numbers (option request 6, echo request 43, client architectures 61)."""

    def encode(self, value: object) -> bytes:
        if not isinstance(value, (list, tuple)):
            raise OptionError("expected a list of 16-bit numbers, got %r" % (value,))
        try:
            return struct.pack("!%dH" % len(value), *value)
        except struct.error:
            raise OptionError("expected a list of 16-bit numbers, got %r" % (value,)) from None

    def decode(self, raw: bytes) -> list[int]:
        if len(raw) % 2:
            raise OptionError("a list of 16-bit codes has an odd length %d" % len(raw))
        return list(struct.unpack("!%dH" % (len(raw) // 2), raw))

    def parse(self, text: str) -> list[int]:
        try:
            return self.decode(self.encode([int(part, 0) for part in split_text(text)]))
        except ValueError as e:
            raise OptionError(str(e)) from None


class _OpaqueList:
    """A list of opaque items, each with a 2-byte length (user class 15, boot file
    parameters 60); value [b"...", ...]; text: comma separated UTF-8 items."""

    def encode(self, value: object) -> bytes:
        if not isinstance(value, (list, tuple)) or not value:
            raise OptionError("expected a non-empty list of bytes")
        items = [_check_bytes(v) for v in value]
        if any(len(item) > 0xFFFF for item in items):
            raise OptionError("an item is longer than 65535 bytes")
        return b"".join(struct.pack("!H", len(item)) + item for item in items)

    def decode(self, raw: bytes) -> list[bytes]:
        return read_opaque_list(raw, 0)

    def parse(self, text: str) -> list[bytes]:
        return [part.strip().encode("utf-8") for part in text.split(",") if part.strip()]


def read_opaque_list(raw: bytes, pos: int) -> list[bytes]:
    """The length-prefixed items of raw[pos:] (at least one)."""
    items: list[bytes] = []
    end = len(raw)
    if pos >= end:
        raise OptionError("an opaque-data list has at least one item")
    while pos < end:
        if pos + 2 > end:
            raise OptionError("truncated opaque-data length")
        nxt = pos + 2 + ((raw[pos] << 8) | raw[pos + 1])
        if nxt > end:
            raise OptionError("opaque-data runs past the end")
        if len(items) == MAX_OPTIONS:
            raise OptionError("more than %d opaque-data items" % MAX_OPTIONS)
        items.append(bytes(raw[pos + 2:nxt]))
        pos = nxt
    return items


@attr.s(frozen=True, slots=True)
class Status:
    """A status code option (13, RFC 8415 21.13): a StatusCode number and a UTF-8 message."""

    code: int = attr.ib()
    message: str = attr.ib(default="")


class _StatusValue:
    """Option 13: 2-byte status code, then the message (UTF-8, may be empty)."""

    def encode(self, value: object) -> bytes:
        if isinstance(value, Status):
            code, message = value.code, value.message
        elif isinstance(value, (list, tuple)) and len(value) == 2:
            code, message = value
        else:
            raise OptionError("a status is Status(code, message), got %r" % (value,))
        if not isinstance(code, int) or not 0 <= code <= 0xFFFF or not isinstance(message, str):
            raise OptionError("bad status %r" % (value,))
        return struct.pack("!H", code) + message.encode("utf-8")

    def decode(self, raw: bytes) -> Status:
        if len(raw) < 2:
            raise OptionError("a status code option has at least 2 bytes")
        try:
            message = bytes(raw[2:]).decode("utf-8")
        except UnicodeDecodeError:
            raise OptionError("status message is not UTF-8") from None
        return Status((raw[0] << 8) | raw[1], message)

    def parse(self, text: str) -> Status:
        code, _, message = text.strip().partition(" ")
        try:
            return Status(int(code, 0), message.strip())
        except ValueError:
            raise OptionError("a status is written '<code> <message>': %r" % (text,)) from None


class _Enterprise:
    """An enterprise number and opaque data (remote-id 37, RFC 4649), value (number, bytes)."""

    def encode(self, value: object) -> bytes:
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise OptionError("expected (enterprise number, bytes), got %r" % (value,))
        number, data = value
        return U32.encode(number) + _check_bytes(data)

    def decode(self, raw: bytes) -> tuple[int, bytes]:
        if len(raw) < 5:
            raise OptionError("enterprise data needs at least 5 bytes")
        return int.from_bytes(raw[:4], "big"), bytes(raw[4:])

    def parse(self, text: str) -> tuple[int, bytes]:
        return self.decode(_hex(text))


class _VendorClass:
    """Option 16: an enterprise number and opaque-data items, value (number, [bytes...])."""

    def encode(self, value: object) -> bytes:
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise OptionError("expected (enterprise number, [bytes...]), got %r" % (value,))
        return U32.encode(value[0]) + OpaqueList.encode(value[1])

    def decode(self, raw: bytes) -> tuple[int, list[bytes]]:
        if len(raw) < 4:
            raise OptionError("a vendor class needs an enterprise number")
        return int.from_bytes(raw[:4], "big"), read_opaque_list(raw, 4)

    def parse(self, text: str) -> tuple[int, list[bytes]]:
        return self.decode(_hex(text))


class _VendorOptions:
    """Option 17: an enterprise number and options framed as at the top level, value
    (number, [(code, bytes)...])."""

    def encode(self, value: object) -> bytes:
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise OptionError("expected (enterprise number, [(code, bytes)...]), got %r"
                              % (value,))
        return U32.encode(value[0]) + pack_options(value[1])

    def decode(self, raw: bytes) -> tuple[int, list[RawOption]]:
        if len(raw) < 4:
            raise OptionError("vendor options need an enterprise number")
        return int.from_bytes(raw[:4], "big"), scan_options(raw, 4, len(raw))

    def parse(self, text: str) -> tuple[int, list[RawOption]]:
        return self.decode(_hex(text))


class _LinkLayer:
    """A link-layer type and address (option 79, RFC 6939), value (type, bytes)."""

    def encode(self, value: object) -> bytes:
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise OptionError("expected (link-layer type, bytes), got %r" % (value,))
        return U16.encode(value[0]) + _check_bytes(value[1])

    def decode(self, raw: bytes) -> tuple[int, bytes]:
        if len(raw) < 3:
            raise OptionError("a link-layer address option needs at least 3 bytes")
        return (raw[0] << 8) | raw[1], bytes(raw[2:])

    def parse(self, text: str) -> tuple[int, bytes]:
        return self.decode(_hex(text))


Address = _Address()
AddressList = _AddressList()
U8 = _Int("B")
U16 = _Int("H")
U32 = _Int("I")
Flag = _Flag()
Text = _Text()
Bytes = _Bytes()
CodeList = _CodeList()
OpaqueList = _OpaqueList()
StatusValue = _StatusValue()
Enterprise = _Enterprise()
VendorClass = _VendorClass()
VendorOptions = _VendorOptions()
LinkLayer = _LinkLayer()
