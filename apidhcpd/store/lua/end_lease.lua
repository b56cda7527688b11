-- ARGV: ip. Ends the lease on ip whoever holds it (an operator's force-release); 1 or 0.
local holder = redis.call('HGET', 'lease:' .. ARGV[1], 'mac')
if not holder then return 0 end
free(ARGV[1], holder)
return 1
