-- The catalogue's half after a customer's labels changed on a Redis Cluster: mark
-- the customer in the carriers of the labels just attached, and answer (cards.lua).
-- A label is marked only while it is live, checked in the same step, so a label
-- deleted meanwhile is either marked before its carriers are detached, or
-- reported here as dead for the caller to take off the customer.
-- KEYS[1] label-ids hash
-- ARGV[1] catalogue key prefix, ARGV[2] customer number, ARGV[3] how many numbers were
-- added, then those numbers, then every number the customer carries
-- Returns {the labels as JSON: {"data": [label, ...]}, {dead numbers}}.
local cat, c, added = ARGV[1], ARGV[2], tonumber(ARGV[3])
for i = 4, 3 + added do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 then
    redis.call('SETBIT', cat .. 'carriers:' .. ARGV[i], c, 1)
  end
end
local body, dead = answer(cat, {unpack(ARGV, 4 + added)})
return {body, dead}
