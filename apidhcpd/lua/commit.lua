-- ARGV: mac, ip, now, lease_time, relay (option 82 as hex, or ''), seed_pool, group, ranges...
-- Binds ip to mac (REQUEST); returns {ip, expires} or an error reply 'CONFLICT ...'.
local mac, ip, now, lease_time = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local relay, seed_pool, ranges = ARGV[5], ARGV[6] == '1', parse_ranges(8)

if not in_source(ip, ranges, seed_pool) then
  return redis.error_reply('CONFLICT ' .. ip .. ' is not in the pool of ' .. ARGV[7])
end
if not available(ip, mac, now) then
  return redis.error_reply('CONFLICT ' .. ip .. ' is taken')
end
local host = redis.call('HMGET', 'mac:' .. mac, 'ip', 'dynamic')
if host[1] and host[2] and host[1] ~= ip then free(host[1], mac) end
if redis.call('HGET', 'lease:' .. ip, 'mac') ~= mac then redis.call('DEL', 'lease:' .. ip) end
local expires = now + lease_time
redis.call('HSET', 'lease:' .. ip, 'mac', mac, 'state', 'bound', 'expires', expires, 'relay', relay)
redis.call('ZADD', 'leases', expires, ip)
redis.call('HSET', 'mac:' .. mac, 'ip', ip, 'dynamic', '1', 'ts', now)
if redis.call('HEXISTS', 'pool', ip) == 1 then redis.call('HSET', 'pool', ip, mac) end
redis.call('DEL', 'offer:' .. mac)
return {ip, expires}
