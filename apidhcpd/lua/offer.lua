-- ARGV: mac, now, hold, requested ('' if none), seed_pool ('1'/'0'), group, ranges...
-- Picks an address for a DISCOVER (see allocation.py) and holds it; returns it or false.
local mac, now, hold, requested = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local seed_pool, group, ranges = ARGV[5] == '1', ARGV[6], parse_ranges(7)

local function usable(ip)
  return ip and ip ~= '' and in_source(ip, ranges, seed_pool) and available(ip, mac, now)
end

local choice
local host = redis.call('HMGET', 'mac:' .. mac, 'ip', 'dynamic')
if host[2] and usable(host[1]) then choice = host[1] end
if not choice then
  local previous = redis.call('GET', 'offer:' .. mac)
  if usable(previous) then choice = previous end
end
if not choice and usable(requested) then choice = requested end
if not choice and seed_pool then
  local pool = redis.call('HGETALL', 'pool')
  for i = 1, #pool, 2 do
    if (pool[i + 1] == '' or pool[i + 1] == mac) and available(pool[i], mac, now) then
      choice = pool[i]; break
    end
  end
end
if not choice and #ranges > 0 then
  local total = 0
  for _, r in ipairs(ranges) do total = total + r[2] - r[1] + 1 end
  local cursor = tonumber(redis.call('GET', 'cursor:' .. group) or '0') % total
  for step = 0, total - 1 do
    local position = (cursor + step) % total
    local offset, ip = position, nil
    for _, r in ipairs(ranges) do
      local size = r[2] - r[1] + 1
      if offset < size then ip = n2ip(r[1] + offset); break end
      offset = offset - size
    end
    if available(ip, mac, now) then
      choice = ip
      redis.call('SET', 'cursor:' .. group, position + 1)
      break
    end
  end
end
if not choice then return false end

local lease = redis.call('HMGET', 'lease:' .. choice, 'mac', 'state', 'expires')
if not (lease[1] == mac and lease[2] == 'bound' and tonumber(lease[3]) > now) then
  if lease[1] ~= mac then redis.call('DEL', 'lease:' .. choice) end
  redis.call('HSET', 'lease:' .. choice, 'mac', mac, 'state', 'offered', 'expires', now + hold)
  redis.call('ZADD', 'leases', now + hold, choice)
end
redis.call('SET', 'offer:' .. mac, choice, 'EX', hold)
return choice
