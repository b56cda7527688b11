-- One call per REQUEST: lookup.lua, then, for a client without a reservation, commit.lua of the
-- address it asks for. KEYS: host keys; ARGV: now, selector, mac, address, client state
-- (SELECTING, INIT-REBOOT, RENEWING), relay (option 82 hex), client (its host name), then the
-- client's class facts (class_facts): a matched class's range and lease-time count.
-- Returns lookup.lua's reply with a 9th element: false (reserved host), {'bound', ip,
-- expires}, {'holds', ip} (another unexpired lease of this client), or
-- {'conflict', '1' if another client holds it else '0', reason}.
local now, mac, wanted = tonumber(ARGV[1]), ARGV[3], ARGV[4]
local reply, host, reserved = lookup(KEYS, ARGV[1], ARGV[2])
reply[9] = false
if reserved then return slim(reply, ARGV[2]) end
if ARGV[5] ~= 'SELECTING' then
  local held = lease_of(mac, now)
  if held and held[1] ~= wanted then
    reply[9] = {'holds', held[1]}
    return slim(reply, ARGV[2])
  end
end
local matched = #reply[8] > 0 and matched_classes(reply[8], class_facts(8)) or nil
local seed_pool, cursor, ranges = source_of(reply, matched)
local bound, reason, taken = commit(mac, wanted, now, lease_time_of(reply, host, matched), ARGV[6],
                                    seed_pool, cursor, ranges, ARGV[5], ARGV[7])
if bound then
  reply[9] = {'bound', bound[1], bound[2]}
else
  reply[9] = {'conflict', taken and '1' or '0', reason}
end
return slim(reply, ARGV[2])
