-- ARGV: now, first, count, then pool names. Of the `count` DHCPv6 leases from rank `first`
-- (expiry order), the unexpired ones of each named pool (their `pool` field), by state.
-- Returns {leases looked at, "index state", count, ...}, index the name's place (1-based).
local now, first, count = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local index = {}
for i = 4, #ARGV do index[ARGV[i]] = i - 3 end
local values = redis.call('ZRANGE', 'leases6', first, first + count - 1)
local counts, order = {}, {}
for _, value in ipairs(values) do
  local l = redis.call('HMGET', 'lease6:' .. value, 'pool', 'state', 'expires')
  if l[1] and index[l[1]] and tonumber(l[3] or 0) > now then
    local key = index[l[1]] .. ' ' .. l[2]
    if not counts[key] then order[#order + 1] = key; counts[key] = 0 end
    counts[key] = counts[key] + 1
  end
end
local out = {#values}
for _, key in ipairs(order) do
  out[#out + 1] = key
  out[#out + 1] = counts[key]
end
return out
