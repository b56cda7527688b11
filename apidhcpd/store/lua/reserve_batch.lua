-- A step of the reserved indexes' rebuild (redis.py's refresh_reserved). KEYS: host keys;
-- ARGV[1]: this run's set of the IPv4 addresses it saw reserved, ARGV[2]: its set of the IPv6
-- values, ARGV[3]: '1' when the keys' `ip` counts (not for duid: keys, which DHCPv4 never
-- reads). Adds each key's fixed address (an `ip` without `dynamic`) to `reserved` and its
-- `ip6` and `prefix6` (canonical) to `reserved6`, and each to this run's set.
local seen = 0
for _, key in ipairs(KEYS) do
  local host = redis.call('HMGET', key, 'ip', 'dynamic', 'ip6', 'prefix6')
  if ARGV[3] == '1' and host[1] and host[1] ~= '' and not host[2] then
    redis.call('SADD', 'reserved', host[1])
    redis.call('SADD', ARGV[1], host[1])
    seen = seen + 1
  end
  for _, value in ipairs(reservations6({ip6 = host[3], prefix6 = host[4]})) do
    redis.call('SADD', 'reserved6', value)
    redis.call('SADD', ARGV[2], value)
    seen = seen + 1
  end
end
redis.call('EXPIRE', ARGV[1], 3600)
redis.call('EXPIRE', ARGV[2], 3600)
return seen
