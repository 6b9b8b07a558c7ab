-- Everything, read in one step: every label, and every customer with its label ids.
-- KEYS[1] zset of label ids, KEYS[2] zset of customer ids
-- ARGV[1] key prefix
-- Returns {{label fields, ...}, {{customer fields, {label id, ...}}, ...}}.
local p = ARGV[1]
local labels, customers = {}, {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  labels[#labels + 1] = redis.call('HGETALL', p .. 'label:' .. id)
end
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  customers[#customers + 1] = {
    redis.call('HGETALL', p .. 'customer:{' .. id .. '}'),
    redis.call('SMEMBERS', p .. 'customer-labels:{' .. id .. '}'),
  }
end
return {labels, customers}
