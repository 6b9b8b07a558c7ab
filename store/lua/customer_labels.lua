-- Read, attach or detach a customer's labels, and answer with the labels after,
-- all in one step and one round trip. Checking that labels exist and attaching
-- them is one step, so a label deleted meanwhile can never end up attached.
-- KEYS[1] customer hash, KEYS[2] the customer's label set (label numbers)
-- ARGV[1] key prefix, ARGV[2] 'get', 'attach' or 'detach', ARGV[3] label cap,
-- ARGV[4..] distinct label ids
-- Returns {'ok', label fields, ...}, {'missing'}, {'unknown', {ids}} or {'cap', attached, adding}.
local p, mode = ARGV[1], ARGV[2]
local c = redis.call('HGET', KEYS[1], 'n')
if not c then return {'missing'} end
if mode ~= 'get' then
  local unknown, numbers = {}, {}
  for i = 4, #ARGV do
    local n = redis.call('HGET', p .. 'label:' .. ARGV[i], 'n')
    if n then numbers[#numbers + 1] = n else unknown[#unknown + 1] = ARGV[i] end
  end
  if mode == 'attach' then
    if #unknown > 0 then return {'unknown', unknown} end
    local new = {}
    for _, n in ipairs(numbers) do
      if redis.call('SISMEMBER', KEYS[2], n) == 0 then new[#new + 1] = n end
    end
    local attached = redis.call('SCARD', KEYS[2])
    if attached + #new > tonumber(ARGV[3]) then return {'cap', attached, #new} end
    for _, n in ipairs(new) do
      redis.call('SADD', KEYS[2], n)
      redis.call('SETBIT', p .. 'carriers:' .. n, c, 1)
    end
  else
    for _, n in ipairs(numbers) do
      if redis.call('SREM', KEYS[2], n) == 1 then redis.call('SETBIT', p .. 'carriers:' .. n, c, 0) end
    end
  end
end
local out = {'ok'}
for _, n in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  -- A label being deleted is gone from label-ids at once, though its number
  -- may linger here until its carriers are detached: it is not shown.
  local id = redis.call('HGET', p .. 'label-ids', n)
  if id then out[#out + 1] = redis.call('HGETALL', p .. 'label:' .. id) end
end
return out
