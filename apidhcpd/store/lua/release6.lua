-- ARGV: duid, iaid, kind, value, now. Ends the lease if the IA holds it; 1 or 0.
local value = canonical6(ARGV[4])
if not value then return 0 end
local lease = lease6_of(value)
if not holds6(lease, ARGV[1], ARGV[2], ARGV[3]) then return 0 end
end6(value, lease, tonumber(ARGV[5]))
return 1
