-- KEYS: hashes (a page: at most 1,000). Their fields as {n1, field, value, ..., n2, ...}:
-- for each key the number of fields that follow, then field, value pairs.
local out = {}
for _, key in ipairs(KEYS) do
  local ok, flat = pcall(redis.call, 'HGETALL', key)
  if not ok then flat = {} end
  out[#out + 1] = #flat / 2
  for _, item in ipairs(flat) do out[#out + 1] = item end
end
return out
