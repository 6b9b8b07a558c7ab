-- Attach one label to many customers, or detach it, all or nothing, in one step.
-- KEYS[1] label hash, KEYS[2] label-cards hash
-- Derived: C carriers:<n> (the label's number; the catalogue's slot, with KEYS), and each
-- customer's P customer:{<id>} and P L:{<id>}. One Redis, or a mock namespace; a cluster
-- changes a label's customers in cluster.py.
-- ARGV[1] catalogue key prefix C, ARGV[2] customer key prefix P, ARGV[3] 'attach' or
-- 'detach', ARGV[4] label cap, ARGV[5..] distinct customer ids
-- Returns {'ok', {ids changed}, {ids left as they were}, how many carry the label after},
-- {'missing'}, {'unknown', {ids of no customer}} or {'full', {ids already at the cap}}.
local cat, p, attach, cap = ARGV[1], ARGV[2], ARGV[3] == 'attach', tonumber(ARGV[4])
local n = redis.call('HGET', KEYS[1], 'n')
if not n then return {'missing'} end
local numbers, unknown = {}, {}
for i = 5, #ARGV do
  numbers[i] = redis.call('HGET', p .. 'customer:{' .. ARGV[i] .. '}', 'n')
  if not numbers[i] then unknown[#unknown + 1] = ARGV[i] end
end
if #unknown > 0 then return {'unknown', unknown} end
local changed, unchanged, full = {}, {}, {}
for i = 5, #ARGV do
  local set = p .. 'L:{' .. ARGV[i] .. '}'
  if (redis.call('SISMEMBER', set, n) == 1) == attach then
    unchanged[#unchanged + 1] = ARGV[i]
  else
    changed[#changed + 1] = i
    if attach and redis.call('SCARD', set) >= cap then
      -- Numbers of labels being deleted (no card) do not count, as for one customer.
      local live = 0
      for _, m in ipairs(redis.call('SMEMBERS', set)) do live = live + redis.call('HEXISTS', KEYS[2], m) end
      if live >= cap then full[#full + 1] = ARGV[i] end
    end
  end
end
if #full > 0 then return {'full', full} end
local bits, ids = cat .. 'carriers:' .. n, {}
for j, i in ipairs(changed) do
  local set = p .. 'L:{' .. ARGV[i] .. '}'
  if attach then redis.call('SADD', set, n) else redis.call('SREM', set, n) end
  redis.call('SETBIT', bits, numbers[i], attach and 1 or 0)
  ids[j] = ARGV[i]
end
return {'ok', ids, unchanged, redis.call('BITCOUNT', bits)}
