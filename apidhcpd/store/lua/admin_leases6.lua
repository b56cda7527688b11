-- ARGV: offset, count. DHCPv6 leases in expiry order (the `leases6` index) as
-- {value, duid, iaid, kind, state, expires, pool, mac, ...}, flat; a value whose lease6: record
-- is gone is left out.
local values = redis.call('ZRANGE', 'leases6', tonumber(ARGV[1]),
                          tonumber(ARGV[1]) + tonumber(ARGV[2]) - 1)
local out = {}
for _, value in ipairs(values) do
  local l = redis.call('HMGET', 'lease6:' .. value, 'duid', 'iaid', 'kind', 'state', 'expires',
                       'pool', 'mac')
  if l[5] then
    out[#out + 1] = value
    for i = 1, 7 do out[#out + 1] = l[i] or '' end
  end
end
return out
