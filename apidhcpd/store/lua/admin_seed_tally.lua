-- ARGV: now, cursor, count. One HSCAN step over the seed's `pool` hash: {next cursor, size,
-- bound, offered, declined}; an owner without an unexpired lease counts as bound.
local now = tonumber(ARGV[1])
local step = redis.call('HSCAN', 'pool', ARGV[2], 'COUNT', ARGV[3])
local counts = {size = 0, bound = 0, offered = 0, declined = 0}
local flat = step[2]
for i = 1, #flat, 2 do
  counts.size = counts.size + 1
  local state = live_state(flat[i], now)
  if state and counts[state] then
    counts[state] = counts[state] + 1
  elseif not state and flat[i + 1] ~= '' then
    counts.bound = counts.bound + 1
  end
end
return {step[1], counts.size, counts.bound, counts.offered, counts.declined}
