-- ARGV: mac, ip, now, probation. Quarantines ip if mac holds its lease (RFC 2131 4.3.3: a
-- DECLINE counts only from the client that holds the address); 1, or 0 (nothing changed).
local mac, ip, expires = ARGV[1], ARGV[2], tonumber(ARGV[3]) + tonumber(ARGV[4])
local lease = redis.call('HMGET', 'lease:' .. ip, 'mac', 'pool')
if mac == '' or lease[1] ~= mac then return 0 end
free(ip, mac)
redis.call('HSET', 'lease:' .. ip, 'mac', '', 'state', 'declined', 'expires', expires,
           'pool', lease[2] or '')
redis.call('ZADD', 'leases', expires, ip)
if lease[2] then redis.call('ZREM', 'free:' .. lease[2], ip) end
return 1
