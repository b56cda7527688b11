-- KEYS: candidate host keys in lookup order (client:<id>..., mac:<mac>); ARGV[1]: now.
-- Writes ts on the host found. Returns {hostkey|false, hostfields, groupname, groupfields,
-- defaultfields}.
local hostkey, fields = false, {}
for _, key in ipairs(KEYS) do
  fields = redis.call('HGETALL', key)
  if #fields > 0 then hostkey = key; break end
end
local group = 'pool'
if hostkey then
  redis.call('HSET', hostkey, 'ts', ARGV[1])
  local h = {}
  for i = 1, #fields, 2 do h[fields[i]] = fields[i + 1] end
  if h['group'] and h['group'] ~= '' then
    group = string.gsub(h['group'], '^group:', '')
  elseif h['ip'] and h['ip'] ~= '' and not h['dynamic'] then
    group = 'default'
  end
  if h['ip'] and h['ip'] ~= '' and not h['dynamic'] then redis.call('SADD', 'reserved', h['ip']) end
end
local groupfields = redis.call('HGETALL', 'group:' .. group)
if #groupfields == 0 then group = 'default' end
local default = redis.call('HGETALL', 'group:default')
if group == 'default' then groupfields = default end
return {hostkey, fields, group, groupfields, default}
