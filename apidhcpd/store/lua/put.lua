-- KEYS[1]: a hash; ARGV[1]: 'replace', 'merge' or 'remove'; then field, value pairs (replace,
-- merge) or field names (remove). Keeps the `reserved` index true for host hashes, and the
-- `classes` index (the names of the class: keys) for classes.
-- Publishes the key on `apidhcpd:inventory`, so that every server drops what it cached of it.
-- Returns the hash as it is afterwards.
local key, mode = KEYS[1], ARGV[1]
local is_host = string.match(key, '^mac:') or string.match(key, '^client:')
  or string.match(key, '^relay:') or string.match(key, '^remote:')
local before = redis.call('HMGET', key, 'ip', 'dynamic')
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
  redis.call('PERSIST', key)  -- an operator's host: no longer a dynamic client's record
end
if string.match(key, '^class:') then  -- the index lookup.lua reads classes by
  if redis.call('EXISTS', key) == 1 then
    redis.call('SADD', 'classes', string.sub(key, 7))
  else
    redis.call('SREM', 'classes', string.sub(key, 7))
  end
end
redis.call('PUBLISH', 'apidhcpd:inventory', key)
return redis.call('HGETALL', key)
