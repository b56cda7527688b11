-- ARGV: mac, ip, now, probation. Quarantines ip; the client loses it.
local mac, ip, expires = ARGV[1], ARGV[2], tonumber(ARGV[3]) + tonumber(ARGV[4])
free(ip, mac)
redis.call('DEL', 'lease:' .. ip)
redis.call('HSET', 'lease:' .. ip, 'mac', '', 'state', 'declined', 'expires', expires)
redis.call('ZADD', 'leases', expires, ip)
return 1
