-- Shared by the DHCPv6 scripts (prepended after common.lua by store/redisconn.py). Mirrors
-- inventory/allocation6.py (tests/test_store6.py's agreement tests pin the two together).
-- Lua's numbers are doubles, exact to 2^53: an IPv6 address is a table of 8 numbers, its
-- 16-bit groups, the most significant first; a pool's positions stay below CAP.
local CAP = 2 ^ 52  -- positions a pool's cursor walks at most (allocation6.CAP)
local PROBES = 32  -- cursor positions one allocation looks at, at most
local FREE_TRIES = 8  -- free-list entries one allocation takes and checks, at most
local MAX_HINTS = 4  -- a client's hints looked at per IA, at most
local IA_GRACE = 86400  -- seconds an ia6:<duid> hash outlives the last lease written to it

-- 'a:b:c' -> {a, b, c} (1 to 4 hex digits each), '' -> {}; nil if a group is bad
local function groups6(text)
  local out = {}
  if text == '' then return out end
  for part in string.gmatch(text .. ':', '([^:]*):') do
    if not string.match(part, '^[0-9a-fA-F][0-9a-fA-F]?[0-9a-fA-F]?[0-9a-fA-F]?$') then
      return nil
    end
    out[#out + 1] = tonumber(part, 16)
  end
  return out
end

-- An address in hex groups (allocation6.address6: at most one '::', no zone, no embedded
-- IPv4, no spaces) as 8 groups; nil if it is not one.
local function parse6(text)
  if type(text) ~= 'string' or #text < 2 or #text > 39 then return nil end
  local s, e = string.find(text, '::', 1, true)
  local head, tail = text, ''
  if s then head, tail = string.sub(text, 1, s - 1), string.sub(text, e + 1) end
  local first, last = groups6(head), groups6(tail)
  if not first or not last then return nil end
  if (s and #first + #last > 7) or (not s and #first ~= 8) then return nil end
  local g = {}
  for i = 1, 8 do g[i] = 0 end
  for i = 1, #first do g[i] = first[i] end
  for i = 1, #last do g[8 - #last + i] = last[i] end
  return g
end

-- 8 groups as RFC 5952 text (allocation6.format6)
local function format6(g)
  local best, best_len, run = 0, 1, 0
  for i = 1, 9 do
    if i <= 8 and g[i] == 0 then
      run = run + 1
    else
      if run > best_len then best, best_len = i - run, run end
      run = 0
    end
  end
  local words = {}
  for i = 1, 8 do words[i] = string.format('%x', g[i]) end
  if best == 0 then return table.concat(words, ':') end
  return table.concat(words, ':', 1, best - 1) .. '::'
    .. table.concat(words, ':', best + best_len, 8)
end

-- 32 hex digits (how store/redis6.py passes a pool's bounds) as 8 groups
local function from_hex6(text)
  local g = {}
  for i = 1, 8 do g[i] = tonumber(string.sub(text, 4 * i - 3, 4 * i), 16) end
  return g
end

local function cmp6(a, b)
  for i = 1, 8 do
    if a[i] ~= b[i] then return a[i] < b[i] and -1 or 1 end
  end
  return 0
end

-- g with every bit after the first `len` cleared
local function mask6(g, len)
  local out = {}
  for i = 1, 8 do
    local keep = len - 16 * (i - 1)
    if keep >= 16 then
      out[i] = g[i]
    elseif keep <= 0 then
      out[i] = 0
    else
      out[i] = g[i] - g[i] % 2 ^ (16 - keep)
    end
  end
  return out
end

-- g + n * 2^shift, modulo 2^128 (n a whole number below 2^53, shift 0-127): the n-th address
-- of a range (shift 0) or the n-th prefix of length 128 - shift
local function add6(g, n, shift)
  local bits, whole = shift % 16, math.floor(shift / 16)
  local parts, q = {0, 0, 0, 0, 0}, n
  for j = 1, 4 do  -- n in 16-bit chunks, least significant first, shifted by `bits`
    local v = (q % 65536) * 2 ^ bits
    q = math.floor(q / 65536)
    parts[j] = parts[j] + v % 65536
    parts[j + 1] = parts[j + 1] + math.floor(v / 65536)
  end
  local out, carry = {}, 0
  for k = 0, 7 do  -- the k-th group from the least significant end
    local j = k - whole + 1
    local sum = g[8 - k] + carry + ((j >= 1 and j <= 5) and parts[j] or 0)
    out[8 - k] = sum % 65536
    carry = math.floor(sum / 65536)
  end
  return out
end

-- last - first + 1, at most CAP (first <= last)
local function span6(first, last)
  local d, borrow = {}, 0
  for i = 8, 1, -1 do
    local x = last[i] - first[i] - borrow
    borrow = 0
    if x < 0 then x, borrow = x + 65536, 1 end
    d[i] = x
  end
  if d[1] + d[2] + d[3] + d[4] > 0 then return CAP end
  return math.min(((d[5] * 65536 + d[6]) * 65536 + d[7]) * 65536 + d[8] + 1, CAP)
end

-- 'address/len' (allocation6.prefix6: len 0-128, no bit set after it) as groups, len; nil
local function prefix_of(text)
  local address, len = string.match(text, '^([^/]*)/(%d+)$')
  if not address then return nil end
  len = tonumber(len)
  local g = parse6(address)
  if not g or len > 128 or cmp6(mask6(g, len), g) ~= 0 then return nil end
  return g, len
end

-- A value as the stores key it (allocation6.canonical): an address or a prefix in RFC 5952
-- form, or nil.
local function canonical6(text)
  if type(text) ~= 'string' then return nil end
  if string.find(text, '/', 1, true) then
    local g, len = prefix_of(text)
    return g and (format6(g) .. '/' .. len) or nil
  end
  local g = parse6(text)
  return g and format6(g) or nil
end

-- A `subnet6:` key's network, when written in RFC 5952 form (allocation6.network6): len; nil
local function network6(text)
  local g, len = prefix_of(text)
  if g and format6(g) .. '/' .. len == text then return len end
  return nil
end

-- A host's reserved values (allocation6.reservations6): `ip6` (an address) and `prefix6`
-- (a prefix), canonical; those that do not read reserve nothing.
local function reservations6(h)
  local out = {}
  local address = h['ip6'] and canonical6(trim(h['ip6']))
  if address and not string.find(address, '/', 1, true) then out[#out + 1] = address end
  local prefix = h['prefix6'] and canonical6(trim(h['prefix6']))
  if prefix and string.find(prefix, '/', 1, true) then out[#out + 1] = prefix end
  return out
end

-- A `range` field (allocation6.lenient_ranges6): {{first, last}, ...}, bad parts skipped
local function ranges6_from_text(text)
  local ranges = {}
  for part in string.gmatch(text or '', '[^,]+') do
    local first, last = string.match(part, '^([^%-]*)%-(.*)$')
    if not first then first, last = part, part end
    local a, b = parse6(trim(first)), parse6(trim(last))
    if a and b and cmp6(a, b) <= 0 then ranges[#ranges + 1] = {a, b} end
  end
  return ranges
end

-- A `pd-pool` field (allocation6.lenient_pd_pool): {{network, len}, ...}, delegated length;
-- bad parts, and parts delegating another length than the first read, skipped
local function pd_pool_from_text(text)
  local prefixes, delegated = {}, 0
  for part in string.gmatch(text or '', '[^,]+') do
    local prefix, length = string.match(trim(part), '^([^%s/]+/%d+)%s+(%d+)$')
    if prefix then
      local g, len = prefix_of(prefix)
      length = tonumber(length)
      if g and len < length and length <= 128 and (delegated == 0 or delegated == length) then
        prefixes[#prefixes + 1] = {g, len}
        delegated = length
      end
    end
  end
  return prefixes, delegated
end

-- A pool as store/redis6.py passes it from ARGV[i] on: name, delegated length (0 for
-- addresses), count, then count parts ('<first hex>-<last hex>' or '<network hex>/<len>').
-- {name, pd, delegated, parts, sizes, total, shape}; `sizes` as allocation6.sizes.
local function source6_from(i)
  local source = {name = ARGV[i], delegated = tonumber(ARGV[i + 1]), parts = {}, sizes = {},
                  total = 0}
  source.pd = source.delegated > 0
  local texts = {}
  for k = 1, tonumber(ARGV[i + 2]) do
    local text = ARGV[i + 2 + k]
    texts[k] = text
    local size
    if source.pd then
      local network, len = string.match(text, '^(%x+)/(%d+)$')
      source.parts[k] = {from_hex6(network), tonumber(len)}
      size = 2 ^ (source.delegated - tonumber(len))
    else
      local first, last = string.match(text, '^(%x+)%-(%x+)$')
      source.parts[k] = {from_hex6(first), from_hex6(last)}
      size = span6(source.parts[k][1], source.parts[k][2])
    end
    size = math.min(size, CAP - source.total)
    source.sizes[k] = size
    source.total = source.total + size
  end
  source.shape = table.concat(texts, ',') .. ' ' .. source.delegated
  return source
end

-- The value at a position of the pool (allocation6.value_at), 0 <= p < total
local function value_at6(source, p)
  for k, size in ipairs(source.sizes) do
    if p < size then
      if source.pd then
        return format6(add6(source.parts[k][1], p, 128 - source.delegated)) .. '/'
          .. source.delegated
      end
      return format6(add6(source.parts[k][1], p, 0))
    end
    p = p - size
  end
  return nil
end

-- Is the (canonical) value one the pool may give? (allocation6.in_source)
local function in_source6(value, source)
  if source.pd then
    local g, len = prefix_of(value)
    if not g or len ~= source.delegated then return false end
    for _, part in ipairs(source.parts) do
      if cmp6(mask6(g, part[2]), part[1]) == 0 then return true end
    end
    return false
  end
  local g = parse6(value)
  if not g then return false end
  for _, part in ipairs(source.parts) do
    if cmp6(part[1], g) <= 0 and cmp6(g, part[2]) <= 0 then return true end
  end
  return false
end

-- The leases. `lease6:<value>`: duid, iaid, kind, state, expires, pool (and mac); `leases6`
-- orders the values by expiry; `ia6:<duid>` maps '<kind>:<iaid>' to the IA's value.
local LEASE6_FIELDS = {'duid', 'iaid', 'kind', 'state', 'expires', 'pool'}

local function lease6_of(value)
  return redis.call('HMGET', 'lease6:' .. value, unpack(LEASE6_FIELDS))
end

local function holds6(lease, duid, iaid, kind)
  return lease[1] == duid and lease[2] == iaid and lease[3] == kind
end

-- May this IA take the value? Not if reserved (unless `reserved_ok`), nor while another
-- client's lease (or a declined value's probation) runs. Also returns the lease record read.
local function available6(value, duid, iaid, kind, now, reserved_ok)
  if not reserved_ok and redis.call('SISMEMBER', 'reserved6', value) == 1 then return false end
  local lease = lease6_of(value)
  if lease[5] and tonumber(lease[5]) > now and not holds6(lease, duid, iaid, kind) then
    return false, lease
  end
  return true, lease
end

-- Ends the lease read as `lease` on value: its IA lets go, the value goes back to its pool's
-- free list (free6:<pool>, scored by when it was given back: the oldest goes first).
local function end6(value, lease, now)
  redis.call('DEL', 'lease6:' .. value)
  redis.call('ZREM', 'leases6', value)
  if lease[1] and lease[1] ~= '' then
    local field = lease[3] .. ':' .. lease[2]
    if redis.call('HGET', 'ia6:' .. lease[1], field) == value then
      redis.call('HDEL', 'ia6:' .. lease[1], field)
    end
  end
  if lease[6] and lease[6] ~= '' then redis.call('ZADD', 'free6:' .. lease[6], now, value) end
end

-- Writes the lease of value to the IA (the record of another client's expired lease goes).
local function record6(value, duid, iaid, kind, state, expires, pool, mac, now, lease)
  if lease[1] and lease[1] ~= '' and not holds6(lease, duid, iaid, kind) then
    local field = lease[3] .. ':' .. lease[2]
    if redis.call('HGET', 'ia6:' .. lease[1], field) == value then
      redis.call('HDEL', 'ia6:' .. lease[1], field)
    end
  end
  redis.call('DEL', 'lease6:' .. value)
  redis.call('HSET', 'lease6:' .. value, 'duid', duid, 'iaid', iaid, 'kind', kind,
             'state', state, 'expires', expires, 'pool', pool)
  if mac and mac ~= '' then redis.call('HSET', 'lease6:' .. value, 'mac', mac) end
  redis.call('ZADD', 'leases6', expires, value)
  if pool ~= '' then redis.call('ZREM', 'free6:' .. pool, value) end
  local key = 'ia6:' .. duid
  redis.call('HSET', key, kind .. ':' .. iaid, value)
  local keep = expires - now + IA_GRACE
  if redis.call('TTL', key) < keep then redis.call('EXPIRE', key, keep) end
end

-- A value of the pool's free list for the IA, or false: at most FREE_TRIES entries taken
-- (oldest first) and checked; an entry that fails the check is dropped (it comes back when
-- the lease that holds it ends).
local function from_free6(source, duid, iaid, kind, now)
  for _ = 1, FREE_TRIES do
    local popped = redis.call('ZPOPMIN', 'free6:' .. source.name)
    if #popped == 0 then return false end
    if in_source6(popped[1], source) and available6(popped[1], duid, iaid, kind, now) then
      return popped[1]
    end
  end
  return false
end

-- A value from the pool's cursor (cursor6:<pool>: `ranges`, the pool it walks, and `next`, the
-- next position), or false: at most PROBES positions, wrapping; a change of the pool starts
-- it again at 0.
local function from_cursor6(source, duid, iaid, kind, now)
  if source.total == 0 then return false end
  local key = 'cursor6:' .. source.name
  local state = redis.call('HMGET', key, 'ranges', 'next')
  local nxt = 0
  if state[1] == source.shape then nxt = tonumber(state[2]) or 0 end
  if nxt >= source.total then nxt = 0 end
  local choice = false
  for _ = 1, math.min(PROBES, source.total) do
    local value = value_at6(source, nxt)
    nxt = nxt + 1
    if nxt >= source.total then nxt = 0 end
    if available6(value, duid, iaid, kind, now) then
      choice = value
      break
    end
  end
  redis.call('HSET', key, 'ranges', source.shape, 'next', string.format('%.0f', nxt))
  return choice
end

-- Picks a value for a SOLICIT (allocation6's order) and holds it; {value, state, expires} or
-- false. The IA's own bound lease is returned as it is.
local function offer6(duid, iaid, kind, now, hold, source, hints)
  local function usable(value)
    return value and in_source6(value, source) and available6(value, duid, iaid, kind, now)
  end

  local current = redis.call('HGET', 'ia6:' .. duid, kind .. ':' .. iaid)
  local choice = usable(current) and current
  for i = 1, math.min(#hints, MAX_HINTS) do
    if choice then break end
    local value = canonical6(hints[i])
    if usable(value) then choice = value end
  end
  choice = choice or from_free6(source, duid, iaid, kind, now)
    or from_cursor6(source, duid, iaid, kind, now)
  if not choice then return false end
  local lease = lease6_of(choice)
  if holds6(lease, duid, iaid, kind) and lease[4] == 'bound' and tonumber(lease[5]) > now then
    return {choice, 'bound', lease[5]}
  end
  if current and current ~= choice then  -- the IA's earlier offer gives way
    local old = lease6_of(current)
    if holds6(old, duid, iaid, kind) and old[4] == 'offered' then end6(current, old, now) end
  end
  record6(choice, duid, iaid, kind, 'offered', now + hold, source.name, nil, now, lease)
  return {choice, 'offered', now + hold}
end

-- Binds the value to the IA until now + valid: {'bound', value, expires}, or {'conflict',
-- '1' if another client holds it or it is reserved else '0', reason}. `source` nil: a host's
-- reserved value (no pool, no reserved check). The IA's previous value goes back.
local function commit6(duid, iaid, kind, text, source, valid, now, mac)
  local value = canonical6(text)
  if not value or (string.find(value, '/', 1, true) ~= nil) ~= (kind == 'pd') then
    return {'conflict', '0', tostring(text) .. ' is no ' .. kind .. ' value'}
  end
  if source and not in_source6(value, source) then
    return {'conflict', '0', value .. ' is not in the pool of ' .. source.name}
  end
  local free, lease = available6(value, duid, iaid, kind, now, source == nil)
  if not free then
    return {'conflict', '1', value .. (lease and ' is taken' or ' is reserved')}
  end
  local previous = redis.call('HGET', 'ia6:' .. duid, kind .. ':' .. iaid)
  if previous and previous ~= value then
    local old = lease6_of(previous)
    if holds6(old, duid, iaid, kind) then end6(previous, old, now) end
  end
  record6(value, duid, iaid, kind, 'bound', now + valid, source and source.name or '', mac,
          now, lease)
  return {'bound', value, now + valid}
end

-- The longest subnet6:<net>/<len> holding `selector` (an address) among those `subnets6`
-- (a sorted set: network -> its length) names: one probe per prefix length in use, longest
-- first. Returns its key and fields, or false, {}.
local function find_subnet6(selector)
  local g = parse6(selector)
  if not g then return false, {} end
  local top = '+inf'
  while true do
    local found = redis.call('ZREVRANGEBYSCORE', 'subnets6', top, '-inf', 'WITHSCORES',
                             'LIMIT', 0, 1)
    if #found == 0 then return false, {} end
    local len = tonumber(found[2])
    local network = format6(mask6(g, len)) .. '/' .. len
    if redis.call('ZSCORE', 'subnets6', network) then
      local fields = redis.call('HGETALL', 'subnet6:' .. network)
      if #fields > 0 then return 'subnet6:' .. network, fields end
    end
    top = '(' .. len
  end
end
