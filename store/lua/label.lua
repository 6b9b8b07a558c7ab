-- A label's fields, and how many customers carry it: the bits set in its carriers
-- bitmap (exact on one Redis; on a cluster, once each change has answered).
-- KEYS[1] label hash
-- Derived: C carriers:<n>, in the catalogue's slot with KEYS[1].
-- ARGV[1] catalogue key prefix
-- Returns {field, value, ..., 'customerCount', count}, or {} when there is no such label.
local flat = redis.call('HGETALL', KEYS[1])
if #flat > 0 then
  flat[#flat + 1] = 'customerCount'
  flat[#flat + 1] = redis.call('BITCOUNT', ARGV[1] .. 'carriers:' .. redis.call('HGET', KEYS[1], 'n'))
end
return flat
