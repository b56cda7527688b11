"""Master/standby: the heartbeat the master serves and the monitor by which a standby decides to
answer. Knows nothing of DHCP messages.
"""
