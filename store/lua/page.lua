-- One page of records, in id order, after a given id.
-- KEYS[1] zset of ids (all scores 0, so ordered by id)
-- Derived: each listed record's hash, ARGV[3] .. id .. ARGV[4]. Labels' lie in the
-- catalogue's slot with KEYS[1]; customers' only on one Redis or in a mock namespace
-- (a cluster pages customers in cluster.py).
-- ARGV[1] '-' or '(' .. last id seen, ARGV[2] how many, ARGV[3] and ARGV[4] the record key
-- around the id, ARGV[5] for labels: the catalogue key prefix, to count each one's
-- customers (label.lua: C carriers:<n>); '' for none
-- Returns {fields, ...}.
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], '+', 'LIMIT', 0, ARGV[2])) do
  local flat = redis.call('HGETALL', ARGV[3] .. id .. ARGV[4])
  if ARGV[5] ~= '' and #flat > 0 then
    flat[#flat + 1] = 'customerCount'
    flat[#flat + 1] = redis.call('BITCOUNT', ARGV[5] .. 'carriers:' .. redis.call('HGET', ARGV[3] .. id .. ARGV[4], 'n'))
  end
  out[#out + 1] = flat
end
return out
