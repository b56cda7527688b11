"""Every bound the server keeps: sizes (bounded maps), rates (token buckets, log lines) and times
(deadlines); and the outcome counters of the packet paths (DHCPv4 and DHCPv6). Imports nothing
of apidhcpd.
"""
