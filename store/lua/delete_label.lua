-- Delete a label: at once from the catalogue, so that nothing can attach it or
-- see it any more; its carriers are detached afterwards, in batches (detach_carriers).
-- KEYS[1] label hash, KEYS[2] label-names hash, KEYS[3] zset of label ids,
-- KEYS[4] label-ids hash, KEYS[5] label-gc set, KEYS[6] label-cards hash, KEYS[7] label-numbers hash,
-- KEYS[8] version, KEYS[9] label-log
-- Derived: C carriers:<n>, to count its customers for the guard (the catalogue's slot).
-- ARGV[1] label id, ARGV[2] the If-Match guard (tags.lua), ARGV[3] catalogue key prefix
-- Returns the label's number, 0 when there is no such label, or -1 when the guard fails.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local key, n = unpack(redis.call('HMGET', KEYS[1], 'key', 'n'))
if ARGV[2] ~= '' and not matches(ARGV[2], label_tag(redis.call('HGET', KEYS[6], n), redis.call('BITCOUNT', ARGV[3] .. 'carriers:' .. n))) then
  return -1
end
redis.call('HDEL', KEYS[2], key)
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], n)
redis.call('HDEL', KEYS[6], n)
redis.call('HDEL', KEYS[7], ARGV[1])
redis.call('DEL', KEYS[1])
redis.call('SADD', KEYS[5], n)
redis.call('ZADD', KEYS[9], redis.call('INCR', KEYS[8]), ARGV[1])
return tonumber(n)
