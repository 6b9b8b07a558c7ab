-- Delete a customer together with the labels it carries.
-- KEYS[1] customer hash, KEYS[2] the customer's label set, KEYS[3] zset of customer ids
-- ARGV[1] key prefix, ARGV[2] customer id
-- Returns 1, or 0 when there is no such customer.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for _, lid in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  redis.call('ZREM', ARGV[1] .. 'label-customers:' .. lid, ARGV[2])
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[2])
return 1
