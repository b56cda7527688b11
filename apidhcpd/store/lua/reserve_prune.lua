-- The last steps of a reserved index's rebuild. ARGV: the index (`reserved` or `reserved6`),
-- this run's set for it, the <index>:version when the run started, then members of the index:
-- each one the run did not see reserved and that was not reserved anew since the run started
-- is dropped. Returns how many.
local index, run, started = ARGV[1], ARGV[2], tonumber(ARGV[3])
local dropped = 0
for i = 4, #ARGV do
  local value = ARGV[i]
  if redis.call('SISMEMBER', run, value) == 0 then
    local noted = tonumber(redis.call('ZSCORE', index .. ':changes', value) or '0')
    if noted <= started then
      redis.call('SREM', index, value)
      dropped = dropped + 1
    end
  end
end
return dropped
