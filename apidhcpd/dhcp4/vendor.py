"""Option 125, V-I Vendor-Specific Information (RFC 3925): its layout, and the inventory's
readable form of it, the field `vivso`.

Knows the layout of section 4 (VIVSO, in construct, the specification this module builds
and reads with): for each vendor, its IANA enterprise number (4 octets), the length of its data
(1 octet), then its sub-options, each a code (1), a length (1) and data; each enterprise once.
Knows the text form `<enterprise>:<code>=<value>; ...`: entries separated by `;`, a value text
(UTF-8) or, after `0x`, hex. Knows nothing of groups and hosts (profile.py reads the field, and
a raw `option-125` wins over it) nor of packets (codec.py splits a value longer than 255 octets
over several options, RFC 3396).
"""

import re

from construct import (
    ConstructError,
    GreedyBytes,
    GreedyRange,
    Int8ub,
    Int32ub,
    Prefixed,
    Struct,
    Terminated,
)

from apidhcpd.dhcp4.codec import Construct

FIELD = "vivso"

_sub_option = Struct("code" / Int8ub, "data" / Prefixed(Int8ub, GreedyBytes))
_vendor = Struct(
    "enterprise" / Int32ub,
    "data" / Prefixed(Int8ub, Struct("options" / GreedyRange(_sub_option), Terminated)),
)
# the value of option 125: every octet belongs to a vendor's block
VIVSO: Construct = Struct("vendors" / GreedyRange(_vendor), Terminated)

SubOption = tuple[int, bytes]  # (code, data)
Vendors = list[tuple[int, list[SubOption]]]  # [(enterprise number, its sub-options)]

_NUMBER = re.compile(r"[0-9]+")
_HEX = re.compile(r"([0-9A-Fa-f]{2}:?)*")
_PLAIN = re.compile(r"[!-~]([ -~]*[!-~])?")  # printable ASCII, no space at either end


def from_text(text: str) -> bytes:
    """The option 125 value of a `vivso` field; ValueError saying what is wrong."""
    return build(parse_text(text))


def parse_text(text: str) -> Vendors:
    """`<enterprise>:<code>=<value>; ...` -> the vendors with their sub-options, each
    enterprise once, in the order it first appears, its sub-options in the order written."""
    found: dict[int, list[SubOption]] = {}
    for entry in (part.strip() for part in str(text).split(";")):
        if not entry:
            continue
        where, equals, value = entry.partition("=")
        enterprise_text, colon, code_text = where.partition(":")
        if not equals or not colon:
            raise ValueError("%r: write <enterprise>:<code>=<value>" % entry)
        enterprise = _number(enterprise_text, 0xFFFFFFFF, "enterprise number")
        code = _number(code_text, 0xFF, "sub-option code", " of enterprise %d" % enterprise)
        what = "sub-option %d of enterprise %d" % (code, enterprise)
        data = _value(value.strip(), what)
        if len(data) > 255:
            raise ValueError("%s: %d bytes, at most 255" % (what, len(data)))
        found.setdefault(enterprise, []).append((code, data))
    if not found:
        raise ValueError("no entry (write <enterprise>:<code>=<value>; ...)")
    for enterprise, subs in found.items():
        size = sum(2 + len(data) for _, data in subs)
        if size > 255:
            raise ValueError("enterprise %d: %d bytes of sub-options, at most 255"
                             % (enterprise, size))
    return list(found.items())


def _number(text: str, top: int, name: str, where: str = "") -> int:
    text = text.strip()
    if not _NUMBER.fullmatch(text) or int(text) > top:
        raise ValueError("%s %r%s is not a number 0-%d" % (name, text, where, top))
    return int(text)


def _value(text: str, what: str) -> bytes:
    if not text:
        raise ValueError("%s has no value (write 0x for an empty one)" % what)
    if text[:2].lower() != "0x":
        return text.encode("utf-8")
    digits = text[2:]
    if not _HEX.fullmatch(digits) or digits.endswith(":"):
        raise ValueError("%s: %r is not hex" % (what, text))
    return bytes.fromhex(digits.replace(":", ""))


def build(vendors: Vendors) -> bytes:
    """The octets of option 125 for these vendors (VIVSO); ValueError past a length field."""
    try:
        raw: bytes = VIVSO.build({"vendors": [
            {"enterprise": enterprise,
             "data": {"options": [{"code": code, "data": data} for code, data in subs]}}
            for enterprise, subs in vendors]})
    except ConstructError as e:
        raise ValueError("option 125 cannot be built: %s" % e) from None
    return raw


def parse(raw: bytes) -> Vendors:
    """The vendors of an option 125 value (VIVSO); ValueError if it is not laid out so."""
    try:
        parsed = VIVSO.parse(raw)
    except ConstructError as e:
        raise ValueError("not an option 125 value: %s" % e) from None
    return [(item.enterprise, [(sub.code, bytes(sub.data)) for sub in item.data.options])
            for item in parsed.vendors]  # type: ignore[attr-defined]


def text_of(raw: bytes) -> str:
    """An option 125 value in the text form of `vivso` (a value as text where it reads as
    such, else as 0x hex), or plain hex when no `vivso` text gives these very octets."""
    try:
        vendors = parse(raw)
    except ValueError:
        return raw.hex()
    text = "; ".join("%d:%d=%s" % (enterprise, code, _text(data))
                     for enterprise, subs in vendors for code, data in subs)
    try:
        if from_text(text) == raw:
            return text
    except ValueError:
        pass
    return raw.hex()


def _text(data: bytes) -> str:
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return "0x" + data.hex()
    if _PLAIN.fullmatch(text) and ";" not in text and text[:2].lower() != "0x":
        return text
    return "0x" + data.hex()
