"""DHCPv4: the wire format, the option catalogue, the handler chain that answers a request, and the
socket. Uses store/, ha/, inventory/ and limits/; nothing below imports it.
"""
