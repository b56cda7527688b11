-- A step of the `reserved` index rebuild (redisstore.refresh_reserved). KEYS: host keys;
-- ARGV[1]: this run's set of the addresses it saw reserved. Adds each key's fixed address
-- (an `ip` without `dynamic`) to both.
local seen = 0
for _, key in ipairs(KEYS) do
  local host = redis.call('HMGET', key, 'ip', 'dynamic')
  if host[1] and host[1] ~= '' and not host[2] then
    redis.call('SADD', 'reserved', host[1])
    redis.call('SADD', ARGV[1], host[1])
    seen = seen + 1
  end
end
redis.call('EXPIRE', ARGV[1], 3600)
return seen
