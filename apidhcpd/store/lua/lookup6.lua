-- KEYS: candidate host keys in lookup order (duid:<hex>, mac:<mac>, relay:<interface-id>,
-- remote:<remote-id>); ARGV[1]: now, ARGV[2]: the IPv6 address that places the request on a
-- subnet6: (the relay's link-address, or our interface's address).
-- Returns lookup.lua's reply, the subnet being the longest subnet6: key holding the address.
-- A host with a reservation of either family (`ip6`, `prefix6`, or `ip` without `dynamic`)
-- gets its `group` or `default`; its `ip6` and `prefix6` join `reserved6`.
local hostkey, fields, host = find_host(KEYS)
local subnetkey, subnetfields = find_subnet6(ARGV[2])
local values = reservations6(host)
for _, value in ipairs(values) do reserve_in('reserved6', value) end
local reserved = #values > 0 or (host['ip'] and host['ip'] ~= '' and not host['dynamic'])
return lookup_reply(hostkey, fields, host, reserved, subnetkey, subnetfields, ARGV[1])
