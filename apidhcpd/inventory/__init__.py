"""What the inventory's values mean, for any protocol: address ranges and allocation rules,
durations. Imports nothing of apidhcpd.
"""
