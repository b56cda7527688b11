-- ARGV: the server's name, a DUID (hex) made now. The DUID stored under server6:<name>, or
-- the one given, stored, when there is none: a server keeps its DUID across restarts.
local key = 'server6:' .. ARGV[1]
local found = redis.call('GET', key)
if found then return found end
redis.call('SET', key, ARGV[2])
return ARGV[2]
