-- ARGV: cursor, count, value (RFC 5952 form), then key prefixes. One SCAN step (COUNT count):
-- the keys with one of the prefixes whose `ip6` or `prefix6` reserves the value, in any
-- spelling (reservations6). Returns {next cursor, key, ...}.
local value = ARGV[3]
local prefixes = {}
for i = 4, #ARGV do prefixes[#prefixes + 1] = ARGV[i] end
local step = redis.call('SCAN', ARGV[1], 'COUNT', ARGV[2])
local out = {step[1]}
for _, key in ipairs(step[2]) do
  for _, prefix in ipairs(prefixes) do
    if string.sub(key, 1, #prefix) == prefix then
      local found = redis.pcall('HMGET', key, 'ip6', 'prefix6')
      if type(found) == 'table' and not found.err then
        for _, reserved in ipairs(reservations6({ip6 = found[1], prefix6 = found[2]})) do
          if reserved == value then out[#out + 1] = key; break end
        end
      end
      break
    end
  end
end
return out
