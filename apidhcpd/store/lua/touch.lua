-- ARGV: now, then host keys: the hosts a server answered from its cache since the last call.
-- Writes their `ts` (last seen), as a lookup would have; a key deleted meanwhile stays deleted.
local touched = 0
for i = 2, #ARGV do
  if redis.call('EXISTS', ARGV[i]) == 1 then
    redis.call('HSET', ARGV[i], 'ts', ARGV[1])
    touched = touched + 1
  end
end
return touched
