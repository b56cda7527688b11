-- ARGV: an IPv6 address. The longest subnet6: key holding it, as lookup6.lua finds it (by the
-- `subnets6` index: one probe per prefix length in use), or false.
local key = find_subnet6(ARGV[1])
return key
