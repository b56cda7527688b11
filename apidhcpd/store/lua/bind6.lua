-- ARGV: duid, iaid, kind, now, valid, mac, hint count, hints..., then the pool
-- (source6_from). A REQUEST's binding in one call: the value offer6 picks (the IA's offer or
-- lease first), bound as commit6 binds it: {'bound', value, expires}, {'conflict', ...} or
-- false when the pool has nothing free.
local now, count = tonumber(ARGV[4]), tonumber(ARGV[7])
local hints = {}
for i = 1, count do hints[i] = ARGV[7 + i] end
local source = source6_from(8 + count)
local picked = offer6(ARGV[1], ARGV[2], ARGV[3], now, 0, source, hints)
if not picked then return false end
return commit6(ARGV[1], ARGV[2], ARGV[3], picked[1], source, tonumber(ARGV[5]), now, ARGV[6])
