"""apidhcpd-cli: the seed's command lines on the store (show, set, delete, imports).
"""
