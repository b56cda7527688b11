"""The admin HTTP API: routes, the seed's legacy query, validation of writes, metrics.

Uses store/ and dhcp4/ (option encodings); the daemon wires it in tap.py (api.AdminAPI).
"""
