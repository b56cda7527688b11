-- ARGV: duid, now. The unexpired offered or bound leases of this DUID, flat:
-- {iaid, kind, value, state, expires, ...}.
local out = {}
local flat = redis.call('HGETALL', 'ia6:' .. ARGV[1])
for i = 1, #flat, 2 do
  local value = flat[i + 1]
  local lease = lease6_of(value)
  if lease[1] == ARGV[1] and lease[3] .. ':' .. lease[2] == flat[i]
      and tonumber(lease[5] or 0) > tonumber(ARGV[2])
      and (lease[4] == 'offered' or lease[4] == 'bound') then
    for _, item in ipairs({lease[2], lease[3], value, lease[4], lease[5]}) do
      out[#out + 1] = item
    end
  end
end
return out
