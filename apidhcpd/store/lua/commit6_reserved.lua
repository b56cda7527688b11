-- ARGV: duid, iaid, kind, value, now, valid. Records the lease of a host's reserved value
-- (no pool): {'bound', value, expires} or {'conflict', '1', reason} while another holds it.
return commit6(ARGV[1], ARGV[2], ARGV[3], ARGV[4], nil, tonumber(ARGV[6]), tonumber(ARGV[5]),
               '')
