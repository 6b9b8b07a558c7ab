-- Delete a label and detach it from every customer that carries it.
-- KEYS[1] label hash, KEYS[2] label-names hash, KEYS[3] zset of label ids,
-- KEYS[4] zset of the label's customers
-- ARGV[1] key prefix, ARGV[2] label id
-- Returns 1, or 0 when there is no such label.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], redis.call('HGET', KEYS[1], 'key'))
redis.call('ZREM', KEYS[3], ARGV[2])
for _, cid in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do
  redis.call('SREM', ARGV[1] .. 'customer-labels:{' .. cid .. '}', ARGV[2])
end
redis.call('DEL', KEYS[1], KEYS[4])
return 1
