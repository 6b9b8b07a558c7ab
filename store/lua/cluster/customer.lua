-- Make or delete a customer's own keys on a Redis Cluster: one slot. The
-- catalogue's index of customers is kept by index.lua.
-- KEYS[1] customer hash, KEYS[2] the customer's label set
-- ARGV[1] 'create' (then the customer number, then field, value, ...) or 'delete'
-- Returns create: 1, or 0 when the id is taken; delete: the customer's number, or 0
-- when there is no such customer.
if ARGV[1] == 'create' then
  if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
  redis.call('HSET', KEYS[1], 'n', unpack(ARGV, 2))
  return 1
end
local n = redis.call('HGET', KEYS[1], 'n')
if not n then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return tonumber(n)
