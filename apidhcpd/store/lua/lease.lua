-- ARGV: mac, now. The unexpired dynamic lease of mac as {ip, state, expires}, or false.
return lease_of(ARGV[1], tonumber(ARGV[2]))
