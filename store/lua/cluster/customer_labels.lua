-- The customer's half of get, attach and detach on a Redis Cluster: one slot.
-- The caller has turned label ids into numbers (the catalogue's half, before)
-- and answers from the cards after (answer.lua).
-- KEYS[1] customer hash, KEYS[2] the customer's label set (label numbers)
-- ARGV[1] 'get', 'attach' or 'detach', ARGV[2] label cap, ARGV[3..] distinct label numbers
-- Returns {'ok', customer number, {numbers added}, {numbers after}}, {'missing'}
-- or {'cap', attached, adding, {numbers attached}}.
local mode = ARGV[1]
local c = redis.call('HGET', KEYS[1], 'n')
if not c then return {'missing'} end
local new = {}
if mode == 'attach' and #ARGV >= 3 then
  local numbers = {unpack(ARGV, 3)}
  local present = redis.call('SMISMEMBER', KEYS[2], unpack(numbers))
  for i, n in ipairs(numbers) do
    if present[i] == 0 then new[#new + 1] = n end
  end
  local attached = redis.call('SCARD', KEYS[2])
  if attached + #new > tonumber(ARGV[2]) then
    return {'cap', attached, #new, redis.call('SMEMBERS', KEYS[2])}
  end
  if #new > 0 then redis.call('SADD', KEYS[2], unpack(new)) end
elseif mode == 'detach' and #ARGV >= 3 then
  redis.call('SREM', KEYS[2], unpack(ARGV, 3))
end
return {'ok', c, new, redis.call('SMEMBERS', KEYS[2])}
