-- ARGV: now, limit. Ends up to limit expired leases; returns how many.
local expired = redis.call('ZRANGEBYSCORE', 'leases', '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, ip in ipairs(expired) do
  local holder = redis.call('HGET', 'lease:' .. ip, 'mac')
  if not holder or free(ip, holder) == 0 then redis.call('ZREM', 'leases', ip) end
end
return #expired
