-- Change a customer's fields.
-- KEYS[1] customer hash
-- ARGV[1] n, ARGV[2..1+n] fields to remove, then field, value, ... to set.
-- Returns the fields after, or false when there is no such customer.
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local n = tonumber(ARGV[1])
for i = 2, 1 + n do redis.call('HDEL', KEYS[1], ARGV[i]) end
if #ARGV > 1 + n then redis.call('HSET', KEYS[1], unpack(ARGV, 2 + n)) end
return redis.call('HGETALL', KEYS[1])
