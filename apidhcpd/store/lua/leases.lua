-- ARGV: offset, count. Leases in expiry order as {ip, mac, state, expires, relay}, flat.
local ips = redis.call('ZRANGE', 'leases', tonumber(ARGV[1]), tonumber(ARGV[1]) + tonumber(ARGV[2]) - 1)
local out = {}
for _, ip in ipairs(ips) do
  local l = redis.call('HMGET', 'lease:' .. ip, 'mac', 'state', 'expires', 'relay')
  if l[3] then
    out[#out + 1] = ip
    out[#out + 1] = l[1] or ''
    out[#out + 1] = l[2] or ''
    out[#out + 1] = l[3]
    out[#out + 1] = l[4] or ''
  end
end
return out
