-- Create a label, unless its id or name is taken, and give it the next label number.
-- KEYS[1] label hash, KEYS[2] zset of label ids, KEYS[3] label-names hash,
-- KEYS[4] label-ids hash (number -> id), KEYS[5] label-seq, KEYS[6] label-cards hash,
-- KEYS[7] label-numbers hash (id -> number), KEYS[8] version, KEYS[9] label-log
-- ARGV[1] id, ARGV[2] name key, ARGV[3] the label's card (see customer_labels.lua),
-- ARGV[4..] field, value, ...
-- Returns 'ok', 'id' or 'name' (what is taken).
if redis.call('EXISTS', KEYS[1]) == 1 then return 'id' end
if redis.call('HSETNX', KEYS[3], ARGV[2], ARGV[1]) == 0 then return 'name' end
-- A new number every time, never reused: a label made again with a deleted
-- label's id is a new label to every index, so old attachments cannot return.
local n = redis.call('INCR', KEYS[5])
redis.call('HSET', KEYS[1], 'key', ARGV[2], 'n', n, unpack(ARGV, 4))
redis.call('HSET', KEYS[4], n, ARGV[1])
redis.call('HSET', KEYS[6], n, ARGV[3])
redis.call('HSET', KEYS[7], ARGV[1], n)
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('ZADD', KEYS[9], redis.call('INCR', KEYS[8]), ARGV[1])
return 'ok'
