-- Shared by the admin scripts (admin_*.lua; redisstore.py prepends common.lua, then this): the admin API's
-- bounded reads. Each call looks at a bounded number of keys or leases, so that Redis is
-- never held for more than about a millisecond by an admin read.
local function live_state(ip, now)
  local l = redis.call('HMGET', 'lease:' .. ip, 'state', 'expires')
  if l[1] and tonumber(l[2] or 0) > now then return l[1] end
  return nil
end
