-- ARGV: cursor, count, field, n, then n values, then key prefixes. One SCAN step (COUNT
-- count): the keys with one of the prefixes whose `field` is one of the values, with their
-- `dynamic` field. Returns {next cursor, key, dynamic, key, dynamic, ...}.
local field, nvalues = ARGV[3], tonumber(ARGV[4])
local values, prefixes = {}, {}
for i = 5, 4 + nvalues do values[ARGV[i]] = true end
for i = 5 + nvalues, #ARGV do prefixes[#prefixes + 1] = ARGV[i] end
local step = redis.call('SCAN', ARGV[1], 'COUNT', ARGV[2])
local out = {step[1]}
for _, key in ipairs(step[2]) do
  for _, prefix in ipairs(prefixes) do
    if string.sub(key, 1, #prefix) == prefix then
      local found = redis.pcall('HMGET', key, field, 'dynamic')
      if type(found) == 'table' and not found.err and found[1] and values[found[1]] then
        out[#out + 1] = key
        out[#out + 1] = found[2] or ''
      end
      break
    end
  end
end
return out
