-- One call per REQUEST of a client whose host the server already knows (inventorycache.py):
-- request.lua without the lookup. ARGV: mac, address, now, lease_time, relay (option 82 hex),
-- client state (SELECTING, INIT-REBOOT, RENEWING), client (its host name), seed_pool ('1'/'0'),
-- group, ranges...
-- Returns {'bound', ip, expires}, {'holds', ip} or {'conflict', '1' if taken else '0', reason}.
local mac, wanted, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
if ARGV[6] ~= 'SELECTING' then
  local held = lease_of(mac, now)
  if held and held[1] ~= wanted then return {'holds', held[1]} end
end
local bound, reason, taken = commit(mac, wanted, now, tonumber(ARGV[4]), ARGV[5], ARGV[8] == '1',
                                    ARGV[9], parse_ranges(10), ARGV[6], ARGV[7])
if bound then return {'bound', bound[1], bound[2]} end
return {'conflict', taken and '1' or '0', reason}
