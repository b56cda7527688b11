"""The inventory and lease store: the contract (IStore, IAdmin), its memory, Redis and HTTP
implementations, and the caches in front of them. Knows nothing of packets, HTTP routes or the
command line.
"""
