-- Shared by the scripts below (prepended by store/redis.py). Mirrors inventory/allocation.py
-- and inventory/rules.py.
local function ip2n(ip)
  local a, b, c, d = string.match(ip or '', '^(%d+)%.(%d+)%.(%d+)%.(%d+)$')
  if not a then return nil end
  return ((tonumber(a) * 256 + tonumber(b)) * 256 + tonumber(c)) * 256 + tonumber(d)
end

local function n2ip(n)
  return string.format('%d.%d.%d.%d', math.floor(n / 16777216) % 256,
    math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
end

-- ARGV from `first` on: "start-end" integer ranges
local function parse_ranges(first)
  local ranges = {}
  for i = first, #ARGV do
    local s, e = string.match(ARGV[i], '^(%d+)-(%d+)$')
    ranges[#ranges + 1] = {tonumber(s), tonumber(e)}
  end
  return ranges
end

local function trim(text)
  return string.match(text, '^%s*(.-)%s*$')
end

-- One octet of an address as a `range` writes it (allocation.range_address): a decimal number
-- 0-255 without leading zeros; nil otherwise.
local function octet(text)
  if #text > 3 or (#text > 1 and string.byte(text) == 48) then return nil end
  local n = tonumber(text)
  if n > 255 then return nil end
  return n
end

local function address(a, b, c, d)
  a, b, c, d = octet(a), octet(b), octet(c), octet(d)
  if not (a and b and c and d) then return nil end
  return ((a * 256 + b) * 256 + c) * 256 + d
end

local ONE = '^%s*(%d+)%.(%d+)%.(%d+)%.(%d+)%s*$'
local TWO = '^%s*(%d+)%.(%d+)%.(%d+)%.(%d+)%s*%-%s*(%d+)%.(%d+)%.(%d+)%.(%d+)%s*$'

-- A `range` field: "a.b.c.d-e.f.g.h, a.b.c.d" (allocation.lenient_ranges: the parts that do
-- not read are skipped, the others serve). The one reader of the text in Lua; one pattern
-- match per part, since every DISCOVER and REQUEST reads its pool's text.
local function ranges_from_text(text)
  local ranges = {}
  for part in string.gmatch(text or '', '[^,]+') do
    local a, b, c, d, e, f, g, h = string.match(part, TWO)
    if not a then
      a, b, c, d = string.match(part, ONE)
      e, f, g, h = a, b, c, d
    end
    if a then
      local s, t = address(a, b, c, d), address(e, f, g, h)
      if s and t and s <= t then ranges[#ranges + 1] = {s, t} end
    end
  end
  return ranges
end

local function hash(flat)
  local h = {}
  for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
  return h
end

-- Go durations (30m, 1h30m, 1.5h, 90s, 500ms) or seconds, as durations.parse_duration: whole
-- seconds from 1 to 4294967294, nil otherwise. The one reader of `lease-time` in Lua.
local UNITS = {ns = 1e-9, us = 1e-6, ['\194\181s'] = 1e-6, ms = 1e-3, s = 1, m = 60, h = 3600}
local function duration(text)
  text = trim(text or '')
  if text == '' then return nil end
  local total, rest = 0, text
  if string.match(text, '^%d+$') then total, rest = tonumber(text), '' end
  while rest ~= '' do
    local number, unit, tail = string.match(rest, '^(%d*%.?%d*)([%a\194\181]+)(.*)$')
    if not number or number == '' or number == '.' or not UNITS[unit] then return nil end
    total, rest = total + tonumber(number) * UNITS[unit], tail
  end
  if total < 1 or total > 4294967294 then return nil end
  return math.floor(total)
end

local function in_ranges(ip, ranges)
  local n = ip2n(ip)
  if not n then return false end
  for _, r in ipairs(ranges) do
    if n >= r[1] and n <= r[2] then return true end
  end
  return false
end

-- May mac take ip? (mac nil: may anyone?) Not if reserved, leased to another client until
-- later, or owned in the seed's pool by another MAC with no lease record. Also returns the
-- lease record's mac and the pool owner it read (false when absent).
local function available(ip, mac, now)
  if redis.call('SISMEMBER', 'reserved', ip) == 1 then return false end
  local lease = redis.call('HMGET', 'lease:' .. ip, 'mac', 'expires')
  if lease[1] and lease[1] ~= mac and tonumber(lease[2] or 0) > now then return false end
  local owner = redis.call('HGET', 'pool', ip)
  if owner and owner ~= '' and owner ~= mac and not lease[1] then return false end
  return true, lease[1], owner
end

local function in_source(ip, ranges, seed_pool)
  return in_ranges(ip, ranges) or (seed_pool and redis.call('HEXISTS', 'pool', ip) == 1)
end

-- How long a dynamic client's mac: record outlives its lease (docs/redis.md): then it goes,
-- unless an operator made it a host of its own (any field besides ip, dynamic and ts).
local RECORD_GRACE = 86400

-- Is this hash only what the server itself writes for a dynamic client: a lease record
-- (ip, dynamic), its last-seen ts, and the seed's `description` dynamic:<client>? Such a hash
-- is no host of its own.
local function pure_record(h)
  for field, value in pairs(h) do
    if field ~= 'ts' and field ~= 'ip' and field ~= 'dynamic'
        and not (field == 'description' and string.sub(value, 1, 8) == 'dynamic:') then
      return false
    end
  end
  return true
end

-- A hash that stands for no host: a lease record, or a record left with only its ts.
local function lease_record(h)
  return h['dynamic'] ~= nil or (pure_record(h) and not h['ip'])
end

-- ip goes back on the free list of the pool it was given from (lease record's `pool`).
local function give_back(ip, pool)
  if pool and pool ~= '' then redis.call('ZADD', 'free:' .. pool, ip2n(ip), ip) end
end

-- End the lease of ip if mac holds it: the address goes back to its pool.
local function free(ip, mac)
  local lease = redis.call('HMGET', 'lease:' .. ip, 'mac', 'pool')
  if lease[1] ~= mac then return 0 end
  redis.call('DEL', 'lease:' .. ip)
  redis.call('ZREM', 'leases', ip)
  give_back(ip, lease[2])
  if redis.call('HGET', 'pool', ip) == mac then redis.call('HSET', 'pool', ip, '') end
  local host = redis.call('HMGET', 'mac:' .. mac, 'ip', 'dynamic')
  if host[1] == ip and host[2] then redis.call('HDEL', 'mac:' .. mac, 'ip', 'dynamic') end
  return 1
end

-- ip's lease record is another client's (an expired one, not reclaimed yet, or a declined
-- address's): drop it, and the holder's mac: record's claim to ip.
local function take_over(ip, holder)
  if holder and holder ~= '' then
    local old = redis.call('HMGET', 'mac:' .. holder, 'ip', 'dynamic')
    if old[1] == ip and old[2] then redis.call('HDEL', 'mac:' .. holder, 'ip', 'dynamic') end
  end
  redis.call('DEL', 'lease:' .. ip)
end

-- Adds a value to a reserved index (`reserved` for IPv4 addresses, `reserved6` for IPv6
-- addresses and prefixes), noting when (<index>:changes, scored by the counter
-- <index>:version), so that a rebuild of the index running meanwhile keeps it; `always` notes
-- it even when it was indexed already (an operator's write).
local function reserve_in(index, value, always)
  if redis.call('SADD', index, value) == 1 or always then
    redis.call('ZADD', index .. ':changes', redis.call('INCR', index .. ':version'), value)
  end
end

local function reserve(ip, always)
  reserve_in('reserved', ip, always)
end

-- The host: the first of `keys` that is not a dynamic lease record, else that record.
-- Returns its key (or false), its fields as HGETALL gave them, and as a table.
local function find_host(keys)
  local fallback, fallback_fields
  for _, key in ipairs(keys) do
    local found = redis.call('HGETALL', key)
    if #found > 0 then
      local h = hash(found)
      if not lease_record(h) then return key, found, h end
      if not fallback then fallback, fallback_fields = key, found end
    end
  end
  if fallback then return fallback, fallback_fields, hash(fallback_fields) end
  return false, {}, {}
end

-- The lookup's reply for a host found by find_host and a subnet (key or false, fields): the
-- group (the host's own; `default` for a host with a reservation, `reserved`; else the
-- subnet's `group` or `pool`; `default` when that group does not exist), group:default and
-- every client class; writes the host's ts.
local function lookup_reply(hostkey, fields, host, reserved, subnetkey, subnetfields, now)
  local group
  if host['group'] and host['group'] ~= '' then
    group = string.gsub(host['group'], '^group:', '')
  elseif reserved then
    group = 'default'
  else
    group = hash(subnetfields)['group'] or 'pool'
    group = string.gsub(group, '^group:', '')
  end
  if hostkey then redis.call('HSET', hostkey, 'ts', now) end
  local groupfields = redis.call('HGETALL', 'group:' .. group)
  if #groupfields == 0 then group = 'default' end
  local default = redis.call('HGETALL', 'group:default')
  if group == 'default' then groupfields = default end
  -- every client class, by the index put.lua keeps (no SCAN): {name, fields, name, ...}
  local classes = {}
  for _, name in ipairs(redis.call('SMEMBERS', 'classes')) do
    local found = redis.call('HGETALL', 'class:' .. name)
    if #found > 0 then
      classes[#classes + 1] = name
      classes[#classes + 1] = found
    end
  end
  return {hostkey, fields, group, groupfields, default, subnetkey, subnetfields, classes}
end

-- The host (find_host), its group, group:default and the longest subnet:<net>/<len> holding
-- `selector`; writes ts. Returns the reply of lookup.lua, the host's fields as a table, and
-- whether it is reserved.
local function lookup(keys, now, selector)
  local hostkey, fields, host = find_host(keys)

  -- the longest subnet:<network>/<prefix> containing the selector address; a caller that
  -- already knows the subnet passes its key instead (or '-' for none), sparing the search
  local subnetkey, subnetfields = false, {}
  local n = ip2n(selector)
  if string.sub(selector, 1, 7) == 'subnet:' then
    local found = redis.call('HGETALL', selector)
    if #found > 0 then subnetkey, subnetfields = selector, found end
  elseif n then
    for prefix = 32, 0, -1 do
      local key = 'subnet:' .. n2ip(n - n % 2 ^ (32 - prefix)) .. '/' .. prefix
      local found = redis.call('HGETALL', key)
      if #found > 0 then subnetkey, subnetfields = key, found; break end
    end
  end

  local reserved = host['ip'] and host['ip'] ~= '' and not host['dynamic']
  if hostkey and reserved then reserve(host['ip']) end
  return lookup_reply(hostkey, fields, host, reserved, subnetkey, subnetfields, now),
    host, reserved
end

-- The reply for a caller that already holds the groups, subnets and classes (it passed the subnet key
-- or '-' as the selector, see lookup): their fields are left out, it fills them in itself.
local function slim(reply, selector)
  if selector == '-' or string.sub(selector, 1, 7) == 'subnet:' then
    reply[4], reply[5], reply[7], reply[8] = {}, {}, {}, {}
  end
  return reply
end

-- The free list of a pool (Kea's free lease queue, in Redis): `free:<pool>`, a sorted set of
-- its free addresses scored by their number, so that finding one costs the same in a /16 as in
-- a /28. It is built from the ranges a step at a time (`free:<pool>:fill`: the ranges it was
-- built for, how far, until when a dry list is believed, and the last address handed out),
-- an address leaves it when offered
-- or bound and comes back when its lease ends (free(), give_back()). Every address taken from
-- it is checked again, so a stale entry costs one check, never a wrong offer.
local FILL_STEP = 256  -- range positions examined per step
local FILL_STEPS = 4  -- steps at most per call
-- Seconds a dry list is believed before the ranges are walked again. Only addresses freed
-- behind the store's back (plain redis-cli) are found that way: every lease that ends gives
-- its address back. A walk of a full /16 costs 64 calls of a few ms, so not often.
local RECHECK_AFTER = 60

local function ranges_shape(ranges)
  local parts = {}
  for i, r in ipairs(ranges) do parts[i] = r[1] .. '-' .. r[2] end
  return table.concat(parts, ',')
end

-- adds the free addresses among range positions first.. to the list; the next position
local function fill_step(list, ranges, first, total, now)
  local last = math.min(total, first + FILL_STEP) - 1
  local members, offset = {}, 0
  for _, r in ipairs(ranges) do
    local size = r[2] - r[1] + 1
    for p = math.max(first, offset), math.min(last, offset + size - 1) do
      local n = r[1] + p - offset
      local ip = n2ip(n)
      if available(ip, nil, now) then
        members[#members + 1] = n
        members[#members + 1] = ip
      end
    end
    offset = offset + size
    if offset > last then break end
  end
  if #members > 0 then redis.call('ZADD', list, unpack(members)) end
  return last + 1
end

-- A free address of the ranges for mac, after the pool's cursor (the last address given), or
-- false; at most FILL_STEPS steps and a few checks, however large the pool.
local function from_free_list(pool, ranges, mac, now)
  local list, meta = 'free:' .. pool, 'free:' .. pool .. ':fill'
  local state = redis.call('HMGET', meta, 'ranges', 'next', 'dry', 'cursor')
  local shape, nxt, dry = ranges_shape(ranges), tonumber(state[2]) or 0, tonumber(state[3]) or 0
  local cursor = tonumber(state[4]) or -1
  if state[1] ~= shape then
    redis.call('DEL', list)
    nxt, dry = 0, 0
  end
  local total = 0
  for _, r in ipairs(ranges) do total = total + r[2] - r[1] + 1 end
  local steps, choice = 0, false
  while true do
    local empty = false
    for _ = 1, 8 do
      local found = redis.call('ZRANGEBYSCORE', list, '(' .. cursor, '+inf', 'LIMIT', 0, 1)
      if #found == 0 then found = redis.call('ZRANGE', list, 0, 0) end
      if #found == 0 then empty = true; break end
      redis.call('ZREM', list, found[1])
      if in_ranges(found[1], ranges) and available(found[1], mac, now) then
        choice = found[1]; break
      end
    end
    if choice or not empty then break end
    if nxt >= total then
      if dry == 0 then dry = now + RECHECK_AFTER end
      if dry > now or steps > 0 then break end
      nxt, dry = 0, 0  -- walk the ranges again: addresses freed behind the store's back
    end
    if steps >= FILL_STEPS then break end
    nxt = fill_step(list, ranges, nxt, total, now)
    steps = steps + 1
  end
  if choice then
    redis.call('HSET', meta, 'ranges', shape, 'next', nxt, 'dry', 0, 'cursor', ip2n(choice))
  elseif state[1] ~= shape or nxt ~= tonumber(state[2]) or dry ~= (tonumber(state[3]) or 0) then
    redis.call('HSET', meta, 'ranges', shape, 'next', nxt, 'dry', dry)
  end
  return choice
end

-- A free address of the seed's `pool` hash for mac, or false: a few entries from where the last
-- search stopped (HSCAN), never the whole hash in one call.
local function from_pool_hash(mac, now)
  local start = redis.call('GET', 'cursor:pool-hash') or '0'
  local cursor, choice = start, false
  for _ = 1, 4 do
    local page = redis.call('HSCAN', 'pool', cursor, 'COUNT', 64)
    cursor = page[1]
    local entries = page[2]
    for i = 1, #entries, 2 do
      if (entries[i + 1] == '' or entries[i + 1] == mac) and available(entries[i], mac, now) then
        choice = entries[i]; break
      end
    end
    if choice or cursor == '0' then break end
  end
  if cursor ~= start then redis.call('SET', 'cursor:pool-hash', cursor) end
  return choice
end

-- Picks an address for a DISCOVER (allocation.py's order) and holds it; the address or false.
local function offer(mac, now, hold, requested, seed_pool, group, ranges)
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
  if not choice and seed_pool then choice = from_pool_hash(mac, now) end
  if choice then
    redis.call('ZREM', 'free:' .. group, choice)
  elseif #ranges > 0 then
    choice = from_free_list(group, ranges, mac, now)
  end
  if not choice then return false end

  local lease = redis.call('HMGET', 'lease:' .. choice, 'mac', 'state', 'expires')
  if not (lease[1] == mac and lease[2] == 'bound' and tonumber(lease[3]) > now) then
    if lease[1] ~= mac then take_over(choice, lease[1]) end
    redis.call('HSET', 'lease:' .. choice, 'mac', mac, 'state', 'offered', 'expires', now + hold,
               'pool', group)
    redis.call('ZADD', 'leases', now + hold, choice)
  end
  redis.call('SET', 'offer:' .. mac, choice, 'EX', hold)
  return choice
end

-- Binds ip to mac (REQUEST in `state`: a SELECTING, INIT-REBOOT or RENEWING client needs a
-- record of it for ip, RFC 2131 4.3.2: its lease record of ip, offered, bound or expired and
-- not yet reclaimed, or the seed's pool hash naming it; '' binds without one, as an operator
-- would). The mac: record gets what the seed wrote (ip, dynamic, ts, and `description`
-- dynamic:<client's host name> if it has none) and, while it holds nothing an operator wrote,
-- expires RECORD_GRACE after the lease. Returns {ip, expires}, or nil, the reason and whether
-- another client holds it.
local function commit(mac, ip, now, lease_time, relay, seed_pool, group, ranges, state, client)
  if not in_source(ip, ranges, seed_pool) then
    return nil, ip .. ' is not in the pool of ' .. group, false
  end
  local free_for_mac, holder, owner = available(ip, mac, now)
  if not free_for_mac then
    return nil, ip .. ' is taken', true
  end
  if state ~= '' and holder ~= mac and owner ~= mac then
    return nil, 'no record of ' .. ip .. ' for ' .. mac, false
  end
  local record = 'mac:' .. mac
  local fields = hash(redis.call('HGETALL', record))
  if fields['ip'] and fields['dynamic'] and fields['ip'] ~= ip then free(fields['ip'], mac) end
  if holder ~= mac then take_over(ip, holder) end
  local expires = now + lease_time
  redis.call('HSET', 'lease:' .. ip, 'mac', mac, 'state', 'bound', 'expires', expires, 'relay', relay,
             'pool', group)
  redis.call('ZADD', 'leases', expires, ip)
  redis.call('ZREM', 'free:' .. group, ip)
  fields['description'] = fields['description'] or ('dynamic:' .. (client or ''))
  redis.call('HSET', record, 'ip', ip, 'dynamic', '1', 'ts', now, 'description',
             fields['description'])
  if pure_record(fields) then redis.call('EXPIRE', record, lease_time + RECORD_GRACE) end
  if owner then redis.call('HSET', 'pool', ip, mac) end
  redis.call('DEL', 'offer:' .. mac)
  return {ip, expires}
end

-- The unexpired dynamic lease of mac as {ip, state, expires}, or false.
local function lease_of(mac, now)
  local host = redis.call('HMGET', 'mac:' .. mac, 'ip', 'dynamic')
  if not host[1] or not host[2] then return false end
  local lease = redis.call('HMGET', 'lease:' .. host[1], 'mac', 'state', 'expires')
  if lease[1] ~= mac or tonumber(lease[3] or 0) <= now then return false end
  return {host[1], lease[2], lease[3]}
end

-- Client classes, by inventory/classes.py's rules (tests/test_classes.py's LuaAgreesTests pin
-- the two together), so that a class's `range` and `lease-time` count in the allocation's call.
-- The client's facts, as the caller passes them from ARGV[first] on (store/redis.py's
-- _facts_args): vendor class, client id, circuit id and remote id each '-' (absent) or '+' and
-- the value; the MAC in hex; the arches as a comma list; then the user classes. nil when the
-- caller passed none.
local function class_facts(first)
  if #ARGV < first + 5 then return nil end
  local function given(value)
    if value == '-' then return nil end
    return string.sub(value, 2)
  end
  local facts = {vendor = given(ARGV[first]), client_id = given(ARGV[first + 1]),
                 mac = ARGV[first + 2], circuit = given(ARGV[first + 3]),
                 remote = given(ARGV[first + 4]), arches = {}, users = {}}
  for part in string.gmatch(ARGV[first + 5], '[^,]+') do facts.arches[tonumber(part)] = true end
  for i = first + 6, #ARGV do facts.users[#facts.users + 1] = ARGV[i] end
  return facts
end

local function text_matches(pattern, value)
  if not value then return false end
  if string.sub(pattern, -1) == '*' then
    local prefix = string.sub(pattern, 1, -2)
    return string.sub(value, 1, #prefix) == prefix
  end
  return value == pattern
end

local function hex_of(text)
  return (string.gsub(string.lower(trim(text)), '[:%-%.]', ''))
end

-- a decimal number of at most nine digits (so that Lua's doubles hold it exactly), or nil
local function small_integer(text, signed)
  local sign, digits = string.match(text, '^([+-]?)(%d+)$')
  if not digits or #digits > 9 or (sign ~= '' and not signed) then return nil end
  return tonumber(digits) * (sign == '-' and -1 or 1)
end

local MATCH_FIELDS = {'match-vendor-class', 'match-user-class', 'match-arch', 'match-client-id',
                      'match-mac', 'match-circuit-id', 'match-remote-id'}

local function class_matches(h, facts)
  local any = false
  for _, name in ipairs(MATCH_FIELDS) do
    if h[name] and h[name] ~= '' then
      any = true
      local want, ok = trim(h[name]), false
      if name == 'match-vendor-class' then
        ok = text_matches(want, facts.vendor)
      elseif name == 'match-user-class' then
        for _, item in ipairs(facts.users) do ok = ok or text_matches(want, item) end
      elseif name == 'match-arch' then
        for part in string.gmatch(want, '[^,]+') do
          local arch = small_integer(trim(part), false)
          ok = ok or (arch ~= nil and facts.arches[arch] == true)
        end
      elseif name == 'match-client-id' then
        ok = facts.client_id ~= nil and hex_of(want) == facts.client_id
      elseif name == 'match-mac' then
        local prefix = hex_of(want)
        ok = prefix ~= '' and string.sub(facts.mac, 1, #prefix) == prefix
      elseif name == 'match-circuit-id' then
        ok = want == facts.circuit
      else
        ok = want == facts.remote
      end
      if not ok then return false end
    end
  end
  return any
end

-- byte order, as Python orders the names (Lua's < follows the server's locale)
local function bytes_before(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- The classes (lookup's {name, fields, ...}) the client matches, in the order they apply:
-- lowest priority first; among equal priorities the name that sorts first comes last.
local function matched_classes(flat, facts)
  local found = {}
  if not facts then return found end
  for i = 1, #flat, 2 do
    local h = hash(flat[i + 1])
    if class_matches(h, facts) then
      found[#found + 1] = {name = flat[i], fields = h,
                           priority = small_integer(trim(h['priority'] or ''), true) or 0}
    end
  end
  table.sort(found, function(a, b)
    if a.priority ~= b.priority then return a.priority < b.priority end
    return bytes_before(b.name, a.name)
  end)
  return found
end

-- A class's `range` parts that lie wholly on the subnet (all of them on none).
local function ranges_on(text, subnetkey)
  local ranges = ranges_from_text(text)
  if not subnetkey or #ranges == 0 then return ranges end
  local net, len = string.match(subnetkey, '^subnet:([%d%.]+)/(%d+)$')
  local n, bits = ip2n(net), tonumber(len)
  if not n or not bits or bits > 32 then return {} end
  local size = 2 ^ (32 - bits)
  local low = n - n % size
  local kept = {}
  for _, r in ipairs(ranges) do
    if r[1] >= low and r[2] <= low + size - 1 then kept[#kept + 1] = r end
  end
  return kept
end

-- Where a dynamic client's address comes from (inventory/rules.py's address_source): the
-- range of the winning class with a range on the subnet; else the subnet's ranges, else the
-- group's own, plus the seed's pool hash for group:pool or a group without ranges. Returns
-- seed_pool, pool name, ranges.
local function source_of(reply, matched)
  local group, subnetkey = reply[3], reply[6]
  for i = #(matched or {}), 1, -1 do
    local ranges = ranges_on(matched[i].fields['range'], subnetkey or nil)
    if #ranges > 0 then
      local pool = 'class:' .. matched[i].name
      if subnetkey then pool = pool .. '@' .. string.sub(subnetkey, 8) end
      return false, pool, ranges
    end
  end
  if subnetkey then
    return false, string.sub(subnetkey, 8), ranges_from_text(hash(reply[7])['range'])
  end
  local ranges = ranges_from_text(hash(reply[4])['range'])
  return #ranges == 0 or group == 'pool', group, ranges
end

-- The lease time the client gets (inventory/rules.py's lease_time: host over the matched
-- classes, the winner first, over group over subnet over group:default), in seconds; 86400
-- when none is set or it does not parse.
local function lease_time_of(reply, host, matched)
  local candidates, n = {host['lease-time']}, 1
  for i = #(matched or {}), 1, -1 do
    n = n + 1
    candidates[n] = matched[i].fields['lease-time']
  end
  candidates[n + 1] = reply[3] ~= 'default' and hash(reply[4])['lease-time']
  candidates[n + 2] = hash(reply[7])['lease-time']
  candidates[n + 3] = hash(reply[5])['lease-time']
  for i = 1, n + 3 do
    local text = candidates[i]
    if text and text ~= '' then return duration(text) or 86400 end
  end
  return 86400
end
