-- ARGV: ip. Ends the lease on ip whoever holds it (an operator's force-release); 1 or 0.
local holder = redis.call('HGET', 'lease:' .. ARGV[1], 'mac')
if not holder then return 0 end
if free(ARGV[1], holder) == 0 then
  redis.call('DEL', 'lease:' .. ARGV[1])
  redis.call('ZREM', 'leases', ARGV[1])
end
redis.call('DEL', 'exhausted')
return 1
