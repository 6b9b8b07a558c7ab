-- Create a customer, unless its id is taken, and give it the next customer number.
-- KEYS[1] customer hash, KEYS[2] zset of customer ids, KEYS[3] customer-seq
-- Derived: C customer-ids:<n div 128>, the new number's bucket, known only once it
-- is given (in the catalogue's slot, with KEYS[2] and KEYS[3]). One Redis, or a mock
-- namespace; a cluster makes customers with cluster/customer.lua and cluster/index.lua.
-- ARGV[1] catalogue key prefix, ARGV[2] id, ARGV[3..] field, value, ...
-- Returns 'ok' or 'id'.
if redis.call('EXISTS', KEYS[1]) == 1 then return 'id' end
local n = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], 'n', n, unpack(ARGV, 3))
-- Numbers map back to ids in hashes of 128, small enough to stay listpacks.
redis.call('HSET', ARGV[1] .. 'customer-ids:' .. math.floor(n / 128), n, ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[2])
return 'ok'
