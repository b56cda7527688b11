-- ARGV: duid, iaid, kind, value, now, valid, mac, then the pool (source6_from). Binds the
-- value to the IA: {'bound', value, expires} or {'conflict', '1'/'0', reason}.
return commit6(ARGV[1], ARGV[2], ARGV[3], ARGV[4], source6_from(8), tonumber(ARGV[6]),
               tonumber(ARGV[5]), ARGV[7])
