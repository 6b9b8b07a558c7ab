-- Replace everything under the prefix with the given labels and customers, in one step.
-- Other prefixes (other namespaces, other services) are left alone.
-- ARGV[1] key prefix, ARGV[2] the prefix as a SCAN pattern (glob characters escaped),
-- ARGV[3] 'always'; 'once' (only if never seeded, then mark it seeded); or 'forget'
-- (clear, and unmark),
-- then: number of labels; per label: id, name key, card, number of fields, field, value, ...;
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
for _, kind in ipairs({'labels', 'label-names', 'label:*', 'label-ids', 'label-numbers', 'label-cards', 'label-seq', 'label-gc',
                       'carriers:*', 'customers', 'customer:*', 'L:*', 'customer-ids:*', 'customer-seq'}) do
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
local numbers = {}
for n = 1, tonumber(take()) do
  local id, name_key, card = take(), take(), take()
  redis.call('HSET', p .. 'label-cards', n, card)
  fields(p .. 'label:' .. id)
  redis.call('HSET', p .. 'label:' .. id, 'key', name_key, 'n', n)
  redis.call('HSET', p .. 'label-names', name_key, id)
  redis.call('HSET', p .. 'label-ids', n, id)
  redis.call('HSET', p .. 'label-numbers', id, n)
  redis.call('ZADD', p .. 'labels', 0, id)
  redis.call('SET', p .. 'label-seq', n)
  numbers[id] = n
end
for c = 1, tonumber(take()) do
  local id = take()
  fields(p .. 'customer:{' .. id .. '}')
  redis.call('HSET', p .. 'customer:{' .. id .. '}', 'n', c)
  redis.call('HSET', p .. 'customer-ids:' .. math.floor(c / 128), c, id)
  redis.call('ZADD', p .. 'customers', 0, id)
  redis.call('SET', p .. 'customer-seq', c)
  for _ = 1, tonumber(take()) do
    local n = numbers[take()]
    redis.call('SADD', p .. 'L:{' .. id .. '}', n)
    redis.call('SETBIT', p .. 'carriers:' .. n, c, 1)
  end
end
return 1
