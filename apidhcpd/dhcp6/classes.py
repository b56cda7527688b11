"""What a DHCPv6 message says about its client, as client classes match it
(inventory/classes.py): the first vendor class item (16), every user class item (15), the
architecture types (61), the DUID as the client id, the MAC, and the relay's interface-id and
remote-id as the circuit and remote ids (spelled as `relay:`/`remote:` keys spell them).
Pure: no I/O; the matching rules are inventory/classes.py's.
"""

from apidhcpd.dhcp6.message import Message
from apidhcpd.dhcp6.relay import RelayInfo6
from apidhcpd.inventory.classes import Facts, text
from apidhcpd.store import keys


def facts(message: Message, relay: RelayInfo6, duid: str, mac: str | None) -> Facts:
    vendor = next((items[0] for _, items in message.vendor_classes if items), None)
    return Facts(
        vendor_class=None if vendor is None else text(vendor),
        user_classes=tuple(dict.fromkeys(text(item) for item in message.user_classes)),
        arches=tuple(message.client_arch or ()),
        client_id=duid or None,
        mac=(mac or "").replace(":", ""),
        circuit_id=None if relay.interface_id is None else keys.id_text(relay.interface_id),
        remote_id=None if relay.remote_id is None else keys.id_text(relay.remote_id))
