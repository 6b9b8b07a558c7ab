-- The catalogue's index of customers on a Redis Cluster: the listing by id, and
-- number -> id. It may hold a customer for a moment before its keys are made, or
-- after they are deleted; readers check those keys (see store/README.md).
-- KEYS[1] zset of customer ids, KEYS[2] customer-seq
-- Derived: C customer-ids:<n div 128> and C applied:<n div 128>, the number's buckets, and
-- C carriers:<l> for each label number given (the catalogue's slot).
-- ARGV[1] catalogue key prefix, ARGV[2] id, ARGV[3] 'reserve' (a new number, listed),
-- 'add' (ARGV[4] its number: listed), 'drop' (ARGV[4]: no longer listed, and its bits
-- cleared in the carriers of the label numbers ARGV[5..]) or 'unmap' (ARGV[4]: a number
-- reserved in vain)
-- Returns the number.
local cat, id, op = ARGV[1], ARGV[2], ARGV[3]
local n = ARGV[4]
if op == 'reserve' then n = redis.call('INCR', KEYS[2]) end
local bucket = math.floor(tonumber(n) / 128)
if op == 'reserve' or op == 'add' then
  redis.call('HSET', cat .. 'customer-ids:' .. bucket, n, id)
  redis.call('ZADD', KEYS[1], 0, id)
  return tonumber(n)
end
redis.call('HDEL', cat .. 'customer-ids:' .. bucket, n)
if op == 'drop' then
  redis.call('HDEL', cat .. 'applied:' .. bucket, n)
  for i = 5, #ARGV do
    local bits = cat .. 'carriers:' .. ARGV[i]
    if redis.call('GETBIT', bits, n) == 1 then redis.call('SETBIT', bits, n, 0) end
  end
  redis.call('ZREM', KEYS[1], id)
end
return tonumber(n)
