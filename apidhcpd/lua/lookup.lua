-- KEYS: candidate host keys in lookup order (client:<id>..., mac:<mac>, relay:<circuit-id>,
-- remote:<remote-id>); ARGV[1]: now, ARGV[2]: the address that places the request on a subnet.
-- A dynamic lease record (a mac: hash with `dynamic`) counts only when no other key matches.
-- Writes ts on the host found. Returns {hostkey|false, hostfields, groupname, groupfields,
-- defaultfields, subnetkey|false, subnetfields}.
local function hash(flat)
  local h = {}
  for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
  return h
end

local hostkey, fields, host = false, {}, {}
local fallback, fallback_fields
for _, key in ipairs(KEYS) do
  local found = redis.call('HGETALL', key)
  if #found > 0 then
    local h = hash(found)
    if not h['dynamic'] then
      hostkey, fields, host = key, found, h
      break
    elseif not fallback then
      fallback, fallback_fields = key, found
    end
  end
end
if not hostkey and fallback then hostkey, fields, host = fallback, fallback_fields, hash(fallback_fields) end

-- the longest subnet:<network>/<prefix> containing the selector address
local subnetkey, subnetfields = false, {}
local n = ip2n(ARGV[2])
if n then
  for prefix = 32, 0, -1 do
    local key = 'subnet:' .. n2ip(n - n % 2 ^ (32 - prefix)) .. '/' .. prefix
    local found = redis.call('HGETALL', key)
    if #found > 0 then subnetkey, subnetfields = key, found; break end
  end
end

local reserved = host['ip'] and host['ip'] ~= '' and not host['dynamic']
local group
if host['group'] and host['group'] ~= '' then
  group = string.gsub(host['group'], '^group:', '')
elseif reserved then
  group = 'default'
else
  group = hash(subnetfields)['group'] or 'pool'
  group = string.gsub(group, '^group:', '')
end
if hostkey then
  redis.call('HSET', hostkey, 'ts', ARGV[1])
  if reserved then redis.call('SADD', 'reserved', host['ip']) end
end
local groupfields = redis.call('HGETALL', 'group:' .. group)
if #groupfields == 0 then group = 'default' end
local default = redis.call('HGETALL', 'group:default')
if group == 'default' then groupfields = default end
return {hostkey, fields, group, groupfields, default, subnetkey, subnetfields}
