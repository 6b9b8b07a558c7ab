-- Change a customer's fields.
-- KEYS[1] customer hash
-- ARGV[1] the If-Match guard (tags.lua), ARGV[2] n, ARGV[3..2+n] fields to remove, then
-- field, value, ... to set.
-- Returns the fields after, false when there is no such customer, or 'precondition'.
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if ARGV[1] ~= '' and not matches(ARGV[1], customer_tag(KEYS[1])) then return 'precondition' end
local n = tonumber(ARGV[2])
for i = 3, 2 + n do redis.call('HDEL', KEYS[1], ARGV[i]) end
if #ARGV > 2 + n then redis.call('HSET', KEYS[1], unpack(ARGV, 3 + n)) end
return redis.call('HGETALL', KEYS[1])
