-- One call per DISCOVER: lookup.lua, then, for a client without a reservation, offer.lua
-- from the source the lookup found. KEYS: host keys; ARGV: now, selector, mac, hold, requested.
-- Returns lookup.lua's reply with a 9th element: the offered address, or false.
local now = tonumber(ARGV[1])
local reply, host, reserved = lookup(KEYS, ARGV[1], ARGV[2])
reply[9] = false
if not reserved then
  local seed_pool, cursor, ranges = source_of(reply)
  reply[9] = offer(ARGV[3], now, tonumber(ARGV[4]), ARGV[5], seed_pool, cursor, ranges)
end
return slim(reply, ARGV[2])
