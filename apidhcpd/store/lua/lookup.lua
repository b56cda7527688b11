-- KEYS: candidate host keys in lookup order (client:<id>..., mac:<mac>, relay:<circuit-id>,
-- remote:<remote-id>); ARGV[1]: now, ARGV[2]: the address that places the request on a subnet
-- (or the subnet's key, or '-' for none, from a caller that knows them: see slim()).
-- Returns {hostkey|false, hostfields, groupname, groupfields, defaultfields, subnetkey|false,
-- subnetfields, classes} (classes: {name, fields, ...}, every class: key).
local reply = lookup(KEYS, ARGV[1], ARGV[2])
return slim(reply, ARGV[2])
