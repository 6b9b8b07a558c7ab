-- Delete a customer together with the labels it carries.
-- KEYS[1] customer hash, KEYS[2] the customer's label set, KEYS[3] zset of customer ids
-- Derived from stored data: C carriers:<n> for each label it carries, and
-- C customer-ids:<c div 128> (in the catalogue's slot, with KEYS[3]). One Redis, or a
-- mock namespace; a cluster deletes customers with cluster/customer.lua and cluster/index.lua.
-- ARGV[1] catalogue key prefix, ARGV[2] customer id, ARGV[3] the If-Match guard (tags.lua)
-- Returns 1, 0 when there is no such customer, or -1 when the guard fails.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[3] ~= '' and not matches(ARGV[3], customer_tag(KEYS[1])) then return -1 end
local c = tonumber(redis.call('HGET', KEYS[1], 'n'))
for _, n in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  redis.call('SETBIT', ARGV[1] .. 'carriers:' .. n, c, 0)
end
redis.call('HDEL', ARGV[1] .. 'customer-ids:' .. math.floor(c / 128), c)
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[2])
return 1
