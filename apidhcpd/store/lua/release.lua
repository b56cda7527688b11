-- ARGV: mac, ip. Ends the lease if mac holds it; returns 1 or 0.
return free(ARGV[2], ARGV[1])
