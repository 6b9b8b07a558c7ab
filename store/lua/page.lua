-- One page of records, in id order, after a given id.
-- KEYS[1] zset of ids (all scores 0, so ordered by id), KEYS[2] optional hash that must exist
-- ARGV[1] '-' or '(' .. last id seen, ARGV[2] how many, ARGV[3] and ARGV[4] the record key
-- around the id
-- Returns {'ok', fields, ...} or {'missing'}.
if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 0 then return {'missing'} end
local out = {'ok'}
for _, id in ipairs(redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], '+', 'LIMIT', 0, ARGV[2])) do
  out[#out + 1] = redis.call('HGETALL', ARGV[3] .. id .. ARGV[4])
end
return out
