-- Ends a rebuild of the reserved indexes. ARGV: this run's set for `reserved`, the
-- reserved:version when it started, this run's lock token, its set for `reserved6`, the
-- reserved6:version when it started. Forgets the changes older than the run (no other run is
-- older: the lock) and releases the lock if it is still this run's. Returns how many IPv4
-- addresses are reserved.
redis.call('DEL', ARGV[1], ARGV[4])
redis.call('ZREMRANGEBYSCORE', 'reserved:changes', '-inf', ARGV[2])
redis.call('ZREMRANGEBYSCORE', 'reserved6:changes', '-inf', ARGV[5])
if redis.call('GET', 'reserved:rebuild') == ARGV[3] then redis.call('DEL', 'reserved:rebuild') end
return redis.call('SCARD', 'reserved')
