-- ARGV: duid, iaid, kind, value, now, probation. Quarantines the value until now + probation
-- if the IA holds it (RFC 8415 18.3.8): a lease with no holder, state 'declined'; 1, or 0
-- (nothing changed).
local now = tonumber(ARGV[5])
local value = canonical6(ARGV[4])
if not value then return 0 end
local lease = lease6_of(value)
if ARGV[1] == '' or not holds6(lease, ARGV[1], ARGV[2], ARGV[3]) then return 0 end
end6(value, lease, now)
local expires = now + tonumber(ARGV[6])
redis.call('HSET', 'lease6:' .. value, 'duid', '', 'iaid', '', 'kind', ARGV[3],
           'state', 'declined', 'expires', expires, 'pool', lease[6] or '')
redis.call('ZADD', 'leases6', expires, value)
if lease[6] and lease[6] ~= '' then redis.call('ZREM', 'free6:' .. lease[6], value) end
return 1
