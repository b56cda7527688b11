-- KEYS[1]: a hash; ARGV[1]: 'replace', 'merge' or 'remove'; then field, value pairs (replace,
-- merge) or field names (remove). Keeps the `reserved` index true for host hashes, `reserved6`
-- (their `ip6` and `prefix6`, `duid:` hosts too), the `classes` index (the names of the
-- class: keys) for classes and `subnets6` (network -> prefix length) for subnet6: keys.
-- Publishes the key on `apidhcpd:inventory`, so that every server drops what it cached of it.
-- Returns the hash as it is afterwards.
local key, mode = KEYS[1], ARGV[1]
local is_host = string.match(key, '^mac:') or string.match(key, '^client:')
  or string.match(key, '^relay:') or string.match(key, '^remote:')
local is_host6 = is_host or string.match(key, '^duid:')
local before = redis.call('HMGET', key, 'ip', 'dynamic', 'ip6', 'prefix6')
if mode == 'replace' then redis.call('DEL', key) end
if mode == 'remove' then
  for i = 2, #ARGV do redis.call('HDEL', key, ARGV[i]) end
else
  for i = 2, #ARGV, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
end
if is_host then
  local after = redis.call('HMGET', key, 'ip', 'dynamic')
  if before[1] and not before[2] and before[1] ~= after[1] then
    redis.call('SREM', 'reserved', before[1])
  end
  if after[1] and after[1] ~= '' and not after[2] then reserve(after[1], true) end
end
if is_host6 then
  local after6 = reservations6(hash(redis.call('HGETALL', key)))
  local kept = {}
  for _, value in ipairs(after6) do
    kept[value] = true
    reserve_in('reserved6', value, true)
  end
  for _, value in ipairs(reservations6({ip6 = before[3], prefix6 = before[4]})) do
    if not kept[value] then redis.call('SREM', 'reserved6', value) end
  end
  redis.call('PERSIST', key)  -- an operator's host: no longer a dynamic client's record
end
if string.match(key, '^class:') then  -- the index lookup.lua reads classes by
  if redis.call('EXISTS', key) == 1 then
    redis.call('SADD', 'classes', string.sub(key, 7))
  else
    redis.call('SREM', 'classes', string.sub(key, 7))
  end
end
if string.match(key, '^subnet6:') then  -- the index lookup6.lua finds subnets by
  local network = string.sub(key, 9)
  local len = network6(network)
  if len and redis.call('EXISTS', key) == 1 then
    redis.call('ZADD', 'subnets6', len, network)
  else
    redis.call('ZREM', 'subnets6', network)
  end
end
redis.call('PUBLISH', 'apidhcpd:inventory', key)
return redis.call('HGETALL', key)
