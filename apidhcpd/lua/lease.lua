-- ARGV: mac, now. The unexpired dynamic lease of mac as {ip, state, expires}, or false.
local mac, now = ARGV[1], tonumber(ARGV[2])
local host = redis.call('HMGET', 'mac:' .. mac, 'ip', 'dynamic')
if not host[1] or not host[2] then return false end
local lease = redis.call('HMGET', 'lease:' .. host[1], 'mac', 'state', 'expires')
if lease[1] ~= mac or tonumber(lease[3] or 0) <= now then return false end
return {host[1], lease[2], lease[3]}
