-- Replace everything under the prefix with the given labels and customers, in one step.
-- Other prefixes (other namespaces, other services) are left alone.
-- ARGV[1] key prefix, ARGV[2] the prefix as a SCAN pattern (glob characters escaped),
-- ARGV[3] 'always'; 'once' (only if never seeded, then mark it seeded); or 'forget'
-- (clear, and unmark),
-- then: number of labels; per label: id, name key, number of fields, field, value, ...;
-- then: number of customers; per customer: id, number of fields, field, value, ...,
-- number of label ids, label id, ...
-- Returns 1, or 0 when 'once' found it seeded already.
local p, glob, mode = ARGV[1], ARGV[2], ARGV[3]
local seeded = p .. 'seeded'
if mode == 'once' then
  if redis.call('EXISTS', seeded) == 1 then return 0 end
  redis.call('SET', seeded, '1')
elseif mode == 'forget' then
  redis.call('DEL', seeded)
end
for _, kind in ipairs({'labels', 'label-names', 'label:*', 'label-customers:*',
                       'customers', 'customer:*', 'customer-labels:*'}) do
  local cursor = '0'
  repeat
    local found = redis.call('SCAN', cursor, 'MATCH', glob .. kind, 'COUNT', 1000)
    cursor = found[1]
    for _, key in ipairs(found[2]) do redis.call('DEL', key) end
  until cursor == '0'
end
local i = 4
local function take()
  local value = ARGV[i]
  i = i + 1
  return value
end
local function fields(key)
  for _ = 1, tonumber(take()) do
    local field = take()
    redis.call('HSET', key, field, take())
  end
end
for _ = 1, tonumber(take()) do
  local id, name_key = take(), take()
  fields(p .. 'label:' .. id)
  redis.call('HSET', p .. 'label:' .. id, 'key', name_key)
  redis.call('HSET', p .. 'label-names', name_key, id)
  redis.call('ZADD', p .. 'labels', 0, id)
end
for _ = 1, tonumber(take()) do
  local id = take()
  fields(p .. 'customer:{' .. id .. '}')
  redis.call('ZADD', p .. 'customers', 0, id)
  for _ = 1, tonumber(take()) do
    local label_id = take()
    redis.call('SADD', p .. 'customer-labels:{' .. id .. '}', label_id)
    redis.call('ZADD', p .. 'label-customers:' .. label_id, 0, id)
  end
end
return 1
