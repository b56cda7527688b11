-- ARGV: now, limit. Ends up to limit expired DHCPv6 leases (offered, bound, or declined ones
-- whose probation is over), their values back to their pools; returns how many.
local now = tonumber(ARGV[1])
local expired = redis.call('ZRANGEBYSCORE', 'leases6', '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
for _, value in ipairs(expired) do
  local lease = lease6_of(value)
  if lease[5] then end6(value, lease, now) else redis.call('ZREM', 'leases6', value) end
end
return #expired
