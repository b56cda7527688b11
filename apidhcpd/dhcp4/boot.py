"""Network boot: what the boot fields of the inventory mean and where they go in a reply.

Knows the fields `next-server` (siaddr, RFC 2131), `boot-file` (the header's `file`, 127
bytes and a NUL), `server-name` (`sname`, 63 bytes and a NUL), the named PXE sub-options of
option 43 (PXE specification 2.1: 6 discovery control, 8 boot servers, 9 boot menu, 10 menu
prompt, 71 boot item) and the option 60 a PXE or UEFI HTTP boot client must see back (with
the default option 43 of a PXE client): what a reply offers and adds, for Finish (handlers.py)
and explain.py alike. Knows nothing of storage, of groups and hosts (profile.py merges them)
or of sockets.
"""

import ipaddress
import socket
from collections.abc import Callable, Mapping

import attr

from apidhcpd.dhcp4.classes import user_classes
from apidhcpd.dhcp4.message import ZERO, Message
from apidhcpd.dhcp4.options import OptionCode

VENDOR_SPECIFIC = OptionCode.VENDOR_SPECIFIC
VENDOR_CLASS = OptionCode.VENDOR_CLASS_ID
USER_CLASS = OptionCode.USER_CLASS
TFTP_SERVER = OptionCode.TFTP_SERVER_NAME
BOOTFILE = OptionCode.BOOTFILE_NAME
OVERLOAD = OptionCode.OVERLOAD

FILE_MAX, SNAME_MAX = 127, 63  # the header's 128 and 64 bytes, less the terminating NUL

# the vendor classes that must be answered with their own prefix (option 60) when the reply
# boots them: PXE specification 2.1 section 2.4, UEFI specification 2.10 section 24.7.2
ECHOED = (b"PXEClient", b"HTTPClient")

# field -> PXE sub-option code (option 43 for a PXEClient)
PXE_FIELDS = {"pxe-discovery-control": 6, "pxe-boot-servers": 8, "pxe-boot-menu": 9,
              "pxe-menu-prompt": 10, "pxe-boot-item": 71}
FIELDS = frozenset({"next-server", "boot-file", "server-name", *PXE_FIELDS})


@attr.s(frozen=True, slots=True)
class Boot:
    """The boot information of a profile, ready for the header: siaddr, file, sname, and the
    option 43 value the PXE sub-options give (b"" without any)."""

    next_server: str = attr.ib(default=ZERO)
    file: bytes = attr.ib(default=b"")
    sname: bytes = attr.ib(default=b"")
    pxe: bytes = attr.ib(default=b"")


NO_BOOT = Boot()


def read_boot(values: Mapping[str, str], warn: Callable[[str], None]) -> Boot:
    """The Boot of a merged group/host hash; a bad value is skipped with `warn`."""
    next_server = ZERO
    text = (values.get("next-server") or "").strip()
    if text:
        try:
            next_server = str(ipaddress.IPv4Address(text))
        except ValueError:
            warn("next-server %r is not an IPv4 address" % text)
    file = _header_text(values, "boot-file", FILE_MAX, warn)
    sname = _header_text(values, "server-name", SNAME_MAX, warn)
    subs = []
    for field, code in sorted(PXE_FIELDS.items(), key=lambda item: item[1]):
        text = (values.get(field) or "").strip()
        if not text:
            continue
        try:
            value = _PXE_ENCODERS[code](text)
            if len(value) > 255:
                raise ValueError("%d bytes, at most 255" % len(value))
        except ValueError as e:
            warn("%s: %s" % (field, e))
            continue
        subs.append(bytes((code, len(value))) + value)
    pxe = b"".join(subs) + b"\xff" if subs else b""
    if len(pxe) > 255:
        warn("pxe-*: option 43 of %d bytes, at most 255" % len(pxe))
        pxe = b""
    if next_server == ZERO and not file and not sname and not pxe:
        return NO_BOOT
    return Boot(next_server, file, sname, pxe)


def _header_text(values: Mapping[str, str], field: str, size: int,
                 warn: Callable[[str], None]) -> bytes:
    text = (values.get(field) or "").strip()
    if not text:
        return b""
    raw = text.encode("utf-8")
    if len(raw) > size or b"\x00" in raw:
        warn("%s: %d bytes, at most %d without NUL" % (field, len(raw), size))
        return b""
    return raw


def _u16(text: str) -> bytes:
    value = int(text, 0)
    if not 0 <= value <= 0xFFFF:
        raise ValueError("%d is not a 16-bit number" % value)
    return value.to_bytes(2, "big")


def _entries(text: str) -> list[tuple[str, str]]:
    """`type rest; type rest` -> [(type, rest)]."""
    found = []
    for part in text.split(";"):
        if part.strip():
            kind, _, rest = part.strip().partition(" ")
            found.append((kind, rest.strip()))
    if not found:
        raise ValueError("no entry")
    return found


def _discovery_control(text: str) -> bytes:
    value = int(text, 0)
    if not 0 <= value <= 255:
        raise ValueError("%d is not an 8-bit number" % value)
    return bytes((value,))


def _boot_servers(text: str) -> bytes:
    """`<type> <ip>[,<ip>...]; ...` -> type (2), count (1), addresses (PXE 2.1 table 2-1)."""
    out = b""
    for kind, rest in _entries(text):
        ips = [a.strip() for a in rest.split(",") if a.strip()]
        if not 0 < len(ips) < 256:
            raise ValueError("boot server type %s needs 1 to 255 addresses" % kind)
        out += _u16(kind) + bytes((len(ips),)) + b"".join(
            socket.inet_aton(str(ipaddress.IPv4Address(ip))) for ip in ips)
    return out


def _boot_menu(text: str) -> bytes:
    """`<type> <description>; ...` -> type (2), length (1), description."""
    out = b""
    for kind, rest in _entries(text):
        description = rest.encode("utf-8")
        if not description or len(description) > 255:
            raise ValueError("menu item %s needs a description of 1 to 255 bytes" % kind)
        out += _u16(kind) + bytes((len(description),)) + description
    return out


def _menu_prompt(text: str) -> bytes:
    """`<timeout seconds> <prompt>` -> timeout (1), prompt."""
    timeout, _, prompt = text.partition(" ")
    return _discovery_control(timeout) + prompt.strip().encode("utf-8")


def _boot_item(text: str) -> bytes:
    """`<type> <layer>` -> type (2), layer (2)."""
    kind, _, layer = text.partition(" ")
    return _u16(kind) + _u16(layer.strip() or "0")


_PXE_ENCODERS: dict[int, Callable[[str], bytes]] = {
    6: _discovery_control, 8: _boot_servers, 9: _boot_menu, 10: _menu_prompt, 71: _boot_item}


def vendor_echo(request: Message) -> bytes | None:
    """The option 60 a client sending `PXEClient...` or `HTTPClient...` must get back; none
    for iPXE, which sends PXEClient too but takes an offer echoing it for a ProxyDHCP one and
    asks port 4011 before it boots (four tries, 12-15 s)."""
    sent = request.options.get(VENDOR_CLASS)
    if sent and not is_ipxe(request):
        for prefix in ECHOED:
            if sent.startswith(prefix):
                return prefix
    return None


# option 43 for a PXE client the inventory gives none: discovery control (6) bit 3, "boot
# the file named in this offer"; without any option 43 a PXE client may take the offer for a
# proxyDHCP one and ask a boot server on port 4011 instead (EDK2's does: PXE-E16)
BOOT_THIS_FILE = b"\x06\x01\x08\xff"


def is_pxe(request: Message) -> bool:
    """A PXE firmware: option 60 `PXEClient...`, but not iPXE (is_ipxe), which needs none of
    the PXE options."""
    return bool(request.options.get(VENDOR_CLASS, b"").startswith(b"PXEClient")) \
        and not is_ipxe(request)


def is_ipxe(request: Message) -> bool:
    """iPXE says so in option 77 (bare, or as an RFC 3004 item)."""
    return "iPXE" in user_classes(request.options.get(USER_CLASS))


def place(reply: Message, boot: Boot) -> None:
    """Put the boot fields in the reply's header: siaddr always; `file` and `sname` unless
    the reply's option overload (52) takes them, in which case they go as options 67 and 66
    (not over a value the inventory gave those options)."""
    reply.siaddr = boot.next_server
    overload = reply.options.get(OVERLOAD, b"\x00")
    taken = overload[0] if len(overload) == 1 else 0
    for value, bit, code, size in ((boot.file, 1, BOOTFILE, 128),
                                   (boot.sname, 2, TFTP_SERVER, 64)):
        if not value:
            continue
        if taken & bit:
            reply.options.setdefault(code, value)
        elif code == BOOTFILE:
            reply.file = value.ljust(size, b"\x00")
        else:
            reply.sname = value.ljust(size, b"\x00")


def offered(available: dict[int, bytes], boot: Boot, request: Message) -> dict[int, bytes]:
    """The options a reply may carry (those the client asks for are sent): the profile's,
    with the named PXE sub-options as option 43 for a PXE client, unless the inventory gives
    option 43 itself."""
    if boot.pxe and VENDOR_SPECIFIC not in available and is_pxe(request):
        return {**available, VENDOR_SPECIFIC: boot.pxe}
    return available


def answer_vendor(reply: Message, request: Message) -> tuple[int, ...]:
    """Option 60 back to a PXE or UEFI HTTP boot client that the reply boots (unless the
    reply has a 60 already) and, for a PXE one, option 43 BOOT_THIS_FILE if the reply has
    none; whatever the client asked for. The codes added, in that order."""
    echo = vendor_echo(request)
    if echo is None or VENDOR_CLASS in reply.options or not boots(reply, request):
        return ()
    reply.options[VENDOR_CLASS] = echo
    if echo != b"PXEClient" or VENDOR_SPECIFIC in reply.options:
        return (VENDOR_CLASS,)
    reply.options[VENDOR_SPECIFIC] = BOOT_THIS_FILE
    return (VENDOR_CLASS, VENDOR_SPECIFIC)


def boots(reply: Message, request: Message) -> bool:
    """Does the reply carry what the client boots from: a boot file (header or option 67),
    or, for a PXE client, its vendor options (43)?"""
    return bool(reply.file.strip(b"\x00")) or BOOTFILE in reply.options or (
        is_pxe(request) and VENDOR_SPECIFIC in reply.options)
