-- The last steps of the `reserved` index rebuild. ARGV: this run's set, the reserved:version
-- when the run started, then addresses of `reserved`: each one the run did not see reserved
-- and that was not reserved anew since the run started is dropped. Returns how many.
local dropped = 0
local started = tonumber(ARGV[2])
for i = 3, #ARGV do
  local ip = ARGV[i]
  if redis.call('SISMEMBER', ARGV[1], ip) == 0 then
    local noted = tonumber(redis.call('ZSCORE', 'reserved:changes', ip) or '0')
    if noted <= started then
      redis.call('SREM', 'reserved', ip)
      dropped = dropped + 1
    end
  end
end
return dropped
