-- ARGV: ip. The longest subnet:<network>/<prefix> key holding ip (as common.lua's lookup
-- finds it), or false.
local n = ip2n(ARGV[1])
if not n then return false end
for prefix = 32, 0, -1 do
  local key = 'subnet:' .. n2ip(n - n % 2 ^ (32 - prefix)) .. '/' .. prefix
  if redis.call('EXISTS', key) == 1 then return key end
end
return false
