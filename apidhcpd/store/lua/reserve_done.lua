-- Ends a `reserved` index rebuild. ARGV: this run's set, the reserved:version when it started,
-- this run's lock token. Forgets the changes older than the run (no other run is older: the
-- lock) and releases the lock if it is still this run's.
redis.call('DEL', ARGV[1])
redis.call('ZREMRANGEBYSCORE', 'reserved:changes', '-inf', ARGV[2])
if redis.call('GET', 'reserved:rebuild') == ARGV[3] then redis.call('DEL', 'reserved:rebuild') end
return redis.call('SCARD', 'reserved')
