-- Bring one copy of the catalogue's read side in line with one label (see copies.py).
-- KEYS[1] the copy's label-cards hash, KEYS[2] its label-numbers hash
-- ARGV[1] label id, ARGV[2] its number, or '' when there is no such label, ARGV[3] its card
-- Returns 1, or 0 when the label is gone from the copy.
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old and old ~= ARGV[2] then redis.call('HDEL', KEYS[1], old) end
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[2], ARGV[1])
  return 0
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
