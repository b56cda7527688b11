"""DHCPv6 (RFC 8415): so far the wire layer, pure: the catalogue (options.py; value types in
values.py and names.py), the nested structures (ia.py, duid.py), the message model
(message.py) and the codec (codec.py). No I/O, no store, no Twisted; nothing below imports it.
"""
