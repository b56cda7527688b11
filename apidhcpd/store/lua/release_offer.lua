-- ARGV: mac, keep. Drops an unconfirmed offer to mac (it chose another server) unless it is of
-- `keep`, the address the client asks that server for: servers sharing this Redis may have
-- offered the same one. The address goes back to its pool.
local ip = redis.call('GET', 'offer:' .. ARGV[1])
if not ip or ip == ARGV[2] then return 0 end
redis.call('DEL', 'offer:' .. ARGV[1])
local lease = redis.call('HMGET', 'lease:' .. ip, 'mac', 'state', 'pool')
if lease[1] == ARGV[1] and lease[2] == 'offered' then
  redis.call('DEL', 'lease:' .. ip)
  redis.call('ZREM', 'leases', ip)
  give_back(ip, lease[3])
  return 1
end
return 0
