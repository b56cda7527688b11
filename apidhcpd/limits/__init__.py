"""Every bound the server keeps: sizes (bounded maps), rates (token buckets, log lines) and times
(deadlines). Imports nothing of apidhcpd.
"""
