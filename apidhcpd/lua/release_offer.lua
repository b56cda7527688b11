-- ARGV: mac. Drops an unconfirmed offer to mac.
local ip = redis.call('GET', 'offer:' .. ARGV[1])
redis.call('DEL', 'offer:' .. ARGV[1])
if not ip then return 0 end
local lease = redis.call('HMGET', 'lease:' .. ip, 'mac', 'state')
if lease[1] == ARGV[1] and lease[2] == 'offered' then
  redis.call('DEL', 'lease:' .. ip)
  redis.call('ZREM', 'leases', ip)
  redis.call('DEL', 'exhausted')
  return 1
end
return 0
