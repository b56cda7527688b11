"""What a DHCPv4 request says about its client, as client classes match it
(inventory/classes.py): options 60, 77, 93, 61, its chaddr and the relay's circuit and remote id.
Pure: no I/O; the matching rules are inventory/classes.py's.
"""

from apidhcpd.dhcp4 import relay as relays
from apidhcpd.dhcp4.message import Message
from apidhcpd.dhcp4.options import OptionCode as Code
from apidhcpd.inventory.classes import Facts, text


def facts(request: Message, relay: relays.RelayInfo = relays.NONE) -> Facts:
    """The request's options 60, 77, 93, 61, its chaddr and the relay's circuit and remote id."""
    options = request.options
    vendor = options.get(Code.VENDOR_CLASS_ID)
    raw_arch = options.get(Code.CLIENT_ARCH) or b""
    return Facts(
        vendor_class=None if vendor is None else text(vendor),
        user_classes=user_classes(options.get(Code.USER_CLASS)),
        arches=tuple(int.from_bytes(raw_arch[i:i + 2], "big")
                     for i in range(0, len(raw_arch) - 1, 2)),
        client_id=request.client_id_hex,
        mac=request.mac.replace(":", ""),
        circuit_id=None if relay.circuit_id is None else relays.id_key(relay.circuit_id),
        remote_id=None if relay.remote_id is None else relays.id_key(relay.remote_id))


def user_classes(raw: bytes | None) -> tuple[str, ...]:
    """Option 77's classes: RFC 3004's items (each one length byte, then the text) when the
    value reads that way, and the whole value as bare text (iPXE, dhclient's `send user-class
    "iPXE"`), so a class written `iPXE` matches either encoding."""
    if not raw:
        return ()
    found = [text(raw)]
    items, i = [], 0
    while i < len(raw) and raw[i] and i + 1 + raw[i] <= len(raw):
        items.append(text(raw[i + 1:i + 1 + raw[i]]))
        i += 1 + raw[i]
    if i == len(raw):
        found += items
    return tuple(dict.fromkeys(found))
