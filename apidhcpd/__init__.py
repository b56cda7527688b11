"""apidhcpd: a DHCPv4 server whose answers come from an inventory database."""

__version__ = "0.1.0"
