-- ARGV: mac, ip, now, lease_time, relay (option 82 as hex, or ''), client state (SELECTING,
-- INIT-REBOOT, RENEWING, or '' for none), client (its host name), seed_pool, group, ranges...
-- Returns {ip, expires} or an error reply 'CONFLICT <reason>' ('... is taken' if another
-- client holds it).
local bound, reason = commit(ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5],
                             ARGV[8] == '1', ARGV[9], parse_ranges(10), ARGV[6], ARGV[7])
if not bound then return redis.error_reply('CONFLICT ' .. reason) end
return bound
