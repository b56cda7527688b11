"""twistd dropin: `twistd -n apidhcpd ...`. Imports nothing heavy; apidhcpd.tap does the work."""

from twisted.application.service import ServiceMaker

apidhcpd = ServiceMaker(
    "apidhcpd",
    "apidhcpd.tap",
    "DHCPv4 server answering from an inventory database (Redis or HTTP API)",
    "apidhcpd",
)
