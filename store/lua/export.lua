-- Everything, read in one step: every label, and every customer (oldest first) with its label ids.
-- KEYS[1] zset of label ids, KEYS[2] zset of customer ids, KEYS[3] label-ids hash
-- Derived: C label:<id> for each label (the catalogue's slot); with 'all', each
-- customer's P customer:{<id>} and P L:{<id>}, which share a slot with the rest only on
-- one Redis or in a mock namespace.
-- ARGV[1] catalogue key prefix, ARGV[2] customer key prefix, ARGV[3] 'all' or, on a
-- Redis Cluster, where customers' keys are in other slots, 'catalogue'
-- Returns {{label fields, ...}, {{customer fields, {label id, ...}}, ...}}; for
-- 'catalogue' {{label fields, ...}, {customer id, ...}, {label number, label id, ...}}.
local c, p = ARGV[1], ARGV[2]
local labels, customers = {}, {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  labels[#labels + 1] = redis.call('HGETALL', c .. 'label:' .. id)
end
if ARGV[3] == 'catalogue' then
  return {labels, redis.call('ZRANGE', KEYS[2], 0, -1), redis.call('HGETALL', KEYS[3])}
end
local numbers = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local carried = {}
  for _, n in ipairs(redis.call('SMEMBERS', p .. 'L:{' .. id .. '}')) do
    local label = redis.call('HGET', KEYS[3], n)
    if label then carried[#carried + 1] = label end
  end
  local key = p .. 'customer:{' .. id .. '}'
  local entry = {redis.call('HGETALL', key), carried}
  numbers[entry] = tonumber(redis.call('HGET', key, 'n'))
  customers[#customers + 1] = entry
end
-- In the order they were made, so that loading the export keeps that order.
table.sort(customers, function(a, b) return numbers[a] < numbers[b] end)
return {labels, customers}
