-- Change a label's fields and its card, unless it changed since the caller read it.
-- The caller builds the card from what it read plus the changes (one encoder, in
-- Python), so the script only checks that what it read is still there: the
-- label's version, 'v', counts its changes (absent: 0).
-- KEYS[1] label hash, KEYS[2] label-names hash, KEYS[3] label-cards hash, KEYS[4] version,
-- KEYS[5] label-log,
-- ARGV[1] id, ARGV[2] the version read, ARGV[3] new name key or '', ARGV[4] the card after,
-- ARGV[5] the If-Match guard (tags.lua), ARGV[6] n, ARGV[7..6+n] fields to remove, then
-- field, value, ... to set.
-- KEYS[6] the label's carriers bitmap (C carriers:<n>), to count its customers
-- Returns {'ok', how many customers carry it}, or 'missing', 'changed' (read again and
-- retry), 'precondition' or 'name' (the new name is taken).
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
if (redis.call('HGET', KEYS[1], 'v') or '0') ~= ARGV[2] then return 'changed' end
if ARGV[5] ~= '' then
  local card = redis.call('HGET', KEYS[3], redis.call('HGET', KEYS[1], 'n'))
  if not matches(ARGV[5], label_tag(card, redis.call('BITCOUNT', KEYS[6]))) then return 'precondition' end
end
local newkey = ARGV[3]
if newkey ~= '' then
  local holder = redis.call('HGET', KEYS[2], newkey)
  if holder and holder ~= ARGV[1] then return 'name' end
  redis.call('HDEL', KEYS[2], redis.call('HGET', KEYS[1], 'key'))
  redis.call('HSET', KEYS[2], newkey, ARGV[1])
  redis.call('HSET', KEYS[1], 'key', newkey)
end
local n = tonumber(ARGV[6])
for i = 7, 6 + n do redis.call('HDEL', KEYS[1], ARGV[i]) end
if #ARGV > 6 + n then redis.call('HSET', KEYS[1], unpack(ARGV, 7 + n)) end
redis.call('HINCRBY', KEYS[1], 'v', 1)
redis.call('HSET', KEYS[3], redis.call('HGET', KEYS[1], 'n'), ARGV[4])
redis.call('ZADD', KEYS[5], redis.call('INCR', KEYS[4]), ARGV[1])
return {'ok', redis.call('BITCOUNT', KEYS[6])}
