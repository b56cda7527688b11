-- Shared by the admin scripts (admin_*.lua, prepended by redisstore.py): the admin API's
-- bounded reads. Each call looks at a bounded number of keys or leases, so that Redis is
-- never held for more than about a millisecond by an admin read.
local function ip2n(ip)
  local a, b, c, d = string.match(ip or '', '^(%d+)%.(%d+)%.(%d+)%.(%d+)$')
  if not a then return nil end
  return ((tonumber(a) * 256 + tonumber(b)) * 256 + tonumber(c)) * 256 + tonumber(d)
end

local function n2ip(n)
  return string.format('%d.%d.%d.%d', math.floor(n / 16777216) % 256,
    math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
end

local function live_state(ip, now)
  local l = redis.call('HMGET', 'lease:' .. ip, 'state', 'expires')
  if l[1] and tonumber(l[2] or 0) > now then return l[1] end
  return nil
end
