-- ARGV: now, first, count, then (pool, first address, last address) triples, addresses as
-- integers. Of the `count` leases from rank `first` (expiry order), the unexpired ones inside
-- each pool's ranges, by state. Returns {leases looked at, "pool state", count, ...}.
local now, first, count = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local ranges = {}
for i = 4, #ARGV, 3 do
  ranges[#ranges + 1] = {ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])}
end
local ips = redis.call('ZRANGE', 'leases', first, first + count - 1)
local counts, order = {}, {}
for _, ip in ipairs(ips) do
  local n, state, seen = ip2n(ip), nil, {}
  for _, r in ipairs(ranges) do
    if n and not seen[r[1]] and n >= r[2] and n <= r[3] then
      seen[r[1]] = true
      state = state or live_state(ip, now) or ''
      if state ~= '' then
        local key = r[1] .. ' ' .. state
        if not counts[key] then order[#order + 1] = key; counts[key] = 0 end
        counts[key] = counts[key] + 1
      end
    end
  end
end
local out = {#ips}
for _, key in ipairs(order) do
  out[#out + 1] = key
  out[#out + 1] = counts[key]
end
return out
