-- Create a label or a customer, unless its id (or a label's name) is taken.
-- KEYS[1] record hash, KEYS[2] zset of ids, KEYS[3] label-names hash (labels only)
-- ARGV[1] id, ARGV[2] name key or '', ARGV[3..] field, value, ...
-- Returns 'ok', 'id' or 'name' (what is taken).
if redis.call('EXISTS', KEYS[1]) == 1 then return 'id' end
if ARGV[2] ~= '' and redis.call('HSETNX', KEYS[3], ARGV[2], ARGV[1]) == 0 then return 'name' end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 'ok'
