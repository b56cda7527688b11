-- Shared by the scripts below (prepended by redisstore.py). Mirrors apidhcpd/allocation.py.
local function ip2n(ip)
  local a, b, c, d = string.match(ip or '', '^(%d+)%.(%d+)%.(%d+)%.(%d+)$')
  if not a then return nil end
  return ((tonumber(a) * 256 + tonumber(b)) * 256 + tonumber(c)) * 256 + tonumber(d)
end

local function n2ip(n)
  return string.format('%d.%d.%d.%d', math.floor(n / 16777216) % 256,
    math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
end

-- ARGV from `first` on: "start-end" integer ranges
local function parse_ranges(first)
  local ranges = {}
  for i = first, #ARGV do
    local s, e = string.match(ARGV[i], '^(%d+)-(%d+)$')
    ranges[#ranges + 1] = {tonumber(s), tonumber(e)}
  end
  return ranges
end

local function in_ranges(ip, ranges)
  local n = ip2n(ip)
  if not n then return false end
  for _, r in ipairs(ranges) do
    if n >= r[1] and n <= r[2] then return true end
  end
  return false
end

local function available(ip, mac, now)
  if redis.call('SISMEMBER', 'reserved', ip) == 1 then return false end
  local lease = redis.call('HMGET', 'lease:' .. ip, 'mac', 'expires')
  if lease[1] and lease[1] ~= mac and tonumber(lease[2] or 0) > now then return false end
  local owner = redis.call('HGET', 'pool', ip)
  if owner and owner ~= '' and owner ~= mac and not lease[1] then return false end
  return true
end

local function in_source(ip, ranges, seed_pool)
  return in_ranges(ip, ranges) or (seed_pool and redis.call('HEXISTS', 'pool', ip) == 1)
end

-- End the lease of ip if mac holds it: the address goes back to its pool.
local function free(ip, mac)
  local holder = redis.call('HGET', 'lease:' .. ip, 'mac')
  if holder ~= mac then return 0 end
  redis.call('DEL', 'lease:' .. ip)
  redis.call('ZREM', 'leases', ip)
  if redis.call('HGET', 'pool', ip) == mac then redis.call('HSET', 'pool', ip, '') end
  local host = redis.call('HMGET', 'mac:' .. mac, 'ip', 'dynamic')
  if host[1] == ip and host[2] then redis.call('HDEL', 'mac:' .. mac, 'ip', 'dynamic') end
  return 1
end
