-- Replace everything under the prefixes with the given labels and customers, in one step.
-- Other prefixes (other namespaces, other services) are left alone.
-- KEYS[1] seeded, KEYS[2] labels, KEYS[3] label-names, KEYS[4] label-ids, KEYS[5] label-numbers,
-- KEYS[6] label-cards, KEYS[7] label-seq, KEYS[8] label-gc, KEYS[9] customers, KEYS[10] customer-seq,
-- KEYS[11] layout (the key layout's version: what is written is in ARGV[5]'s; 'forget' deletes it),
-- KEYS[12] version, KEYS[13] label-log (a new version, and a log that starts at it; 'forget'
-- deletes both: only mock namespaces are forgotten, and no process caches their catalogue)
-- (the catalogue's keys, one slot)
-- Derived: C label:<id>, C carriers:<n>, C applied:<c div 128> (a cluster's) and
-- C customer-ids:<c div 128> (the catalogue's slot), old and new, found from the indexes;
-- with 'all', P customer:{<id>} and P L:{<id>}, which share the slot only on one Redis or
-- in a mock namespace.
-- ARGV[1] catalogue key prefix, ARGV[2] customer key prefix,
-- ARGV[3] 'always'; 'once' (only if never seeded, then mark it seeded); or 'forget'
-- (clear, and unmark), ARGV[4] 'all', or 'catalogue' (see below), ARGV[5] the layout written,
-- ARGV[6] the most customers 'always' may replace (more: -1, nothing done),
-- then: number of labels; per label: id, name key, card, number of fields, field, value, ...;
-- then: number of customers; per customer: id, number of fields, field, value, ...,
-- number of label ids, label id, ...
-- Returns 1, 0 when 'once' found it seeded already, or -1 (see ARGV[6]).
local c, p, mode = ARGV[1], ARGV[2], ARGV[3]
local seeded, labels, names, ids, numbers_of, cards, label_seq, gc, customers, customer_seq, layout, version, log =
  unpack(KEYS)
if mode == 'always' and redis.call('ZCARD', customers) > tonumber(ARGV[6]) then return -1 end
if mode == 'once' then
  if redis.call('EXISTS', seeded) == 1 then return 0 end
  redis.call('SET', seeded, '1')
end
redis.call('DEL', log)
if mode == 'forget' then
  redis.call('DEL', seeded, layout, version)
else
  redis.call('SET', layout, ARGV[5])
  redis.call('ZADD', log, redis.call('INCR', version), '')
end
-- On a Redis Cluster the customers' own keys live in other slots: the caller
-- ('catalogue') deletes and writes those, and this script the catalogue's. What goes is
-- found from the store's own indexes, never by a scan of the whole keyspace, so the work
-- grows with this store (a mock namespace, or a state small enough: see redis_store.py),
-- not with everything else the Redis holds.
local everything = ARGV[4] == 'all'
local old = {}
for _, id in ipairs(redis.call('ZRANGE', labels, 0, -1)) do old[#old + 1] = c .. 'label:' .. id end
for n = 1, tonumber(redis.call('GET', label_seq) or '0') do old[#old + 1] = c .. 'carriers:' .. n end
for k = 0, math.floor(tonumber(redis.call('GET', customer_seq) or '0') / 128) do
  old[#old + 1] = c .. 'customer-ids:' .. k
  old[#old + 1] = c .. 'applied:' .. k
end
if everything then
  for _, id in ipairs(redis.call('ZRANGE', customers, 0, -1)) do
    old[#old + 1] = p .. 'customer:{' .. id .. '}'
    old[#old + 1] = p .. 'L:{' .. id .. '}'
  end
end
for start = 1, #old, 1000 do redis.call('UNLINK', unpack(old, start, math.min(start + 999, #old))) end
redis.call('DEL', labels, names, ids, numbers_of, cards, label_seq, gc, customers, customer_seq)
local i = 7
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
  redis.call('HSET', cards, n, card)
  fields(c .. 'label:' .. id)
  redis.call('HSET', c .. 'label:' .. id, 'key', name_key, 'n', n)
  redis.call('HSET', names, name_key, id)
  redis.call('HSET', ids, n, id)
  redis.call('HSET', numbers_of, id, n)
  redis.call('ZADD', labels, 0, id)
  redis.call('SET', label_seq, n)
  numbers[id] = n
end
for number = 1, tonumber(take()) do
  local id = take()
  local customer, attached = p .. 'customer:{' .. id .. '}', p .. 'L:{' .. id .. '}'
  if everything then
    fields(customer)
    redis.call('HSET', customer, 'n', number)
  else
    i = i + 1 + 2 * tonumber(ARGV[i])
  end
  redis.call('HSET', c .. 'customer-ids:' .. math.floor(number / 128), number, id)
  redis.call('ZADD', customers, 0, id)
  redis.call('SET', customer_seq, number)
  for _ = 1, tonumber(take()) do
    local n = numbers[take()]
    if everything then redis.call('SADD', attached, n) end
    redis.call('SETBIT', c .. 'carriers:' .. n, number, 1)
  end
end
return 1
