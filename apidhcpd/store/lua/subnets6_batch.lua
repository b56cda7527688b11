-- A step of the index refresh (redis.py's refresh_reserved): KEYS: subnet6: keys, found by
-- SCAN. Each one that exists and names its network in RFC 5952 form joins `subnets6` (network
-- -> prefix length), so that lookup6.lua sees subnets written with plain redis-cli; one that
-- joins is published on `apidhcpd:inventory`, as put.lua does, so inventory caches see it too.
local added = 0
for _, key in ipairs(KEYS) do
  local network = string.sub(key, 9)
  local len = network6(network)
  if len and redis.call('EXISTS', key) == 1 and redis.call('ZADD', 'subnets6', len, network) == 1 then
    added = added + 1
    redis.call('PUBLISH', 'apidhcpd:inventory', key)
  end
end
return added
