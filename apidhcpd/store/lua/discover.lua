-- One call per DISCOVER: lookup.lua, then, for a client without a reservation, offer.lua
-- from the source the lookup found (a matched class's range first). KEYS: host keys; ARGV:
-- now, selector, mac, hold, requested, then the client's class facts (class_facts).
-- Returns lookup.lua's reply with a 9th element: the offered address, or false.
local now = tonumber(ARGV[1])
local reply, host, reserved = lookup(KEYS, ARGV[1], ARGV[2])
reply[9] = false
if not reserved then
  local matched = #reply[8] > 0 and matched_classes(reply[8], class_facts(6)) or nil
  local seed_pool, cursor, ranges = source_of(reply, matched)
  reply[9] = offer(ARGV[3], now, tonumber(ARGV[4]), ARGV[5], seed_pool, cursor, ranges)
end
return slim(reply, ARGV[2])
