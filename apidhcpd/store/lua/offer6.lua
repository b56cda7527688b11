-- ARGV: duid, iaid, kind ('na'/'pd'), now, hold, hint count, hints..., then the pool
-- (source6_from). Picks a value for a SOLICIT and holds it for `hold` seconds: {value,
-- state, expires} ('offered', or the IA's own 'bound' lease as it is), or false.
local count = tonumber(ARGV[6])
local hints = {}
for i = 1, count do hints[i] = ARGV[6 + i] end
return offer6(ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]),
              source6_from(7 + count), hints)
