-- Read, attach or detach a customer's labels, and answer with the labels after.
-- Checking that labels exist and attaching them is one step, so a label deleted
-- meanwhile can never end up attached.
-- KEYS[1] customer hash, KEYS[2] the customer's label set
-- ARGV[1] key prefix, ARGV[2] customer id, ARGV[3] 'get', 'attach' or 'detach',
-- ARGV[4] label cap, ARGV[5..] distinct label ids
-- Returns {'ok', label fields, ...}, {'missing'}, {'unknown', {ids}} or {'cap', attached, adding}.
local p, cid, mode = ARGV[1], ARGV[2], ARGV[3]
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
if mode == 'attach' then
  local unknown, new = {}, {}
  for i = 5, #ARGV do
    local lid = ARGV[i]
    if redis.call('EXISTS', p .. 'label:' .. lid) == 0 then
      unknown[#unknown + 1] = lid
    elseif redis.call('SISMEMBER', KEYS[2], lid) == 0 then
      new[#new + 1] = lid
    end
  end
  if #unknown > 0 then return {'unknown', unknown} end
  local attached = redis.call('SCARD', KEYS[2])
  if attached + #new > tonumber(ARGV[4]) then return {'cap', attached, #new} end
  for _, lid in ipairs(new) do
    redis.call('SADD', KEYS[2], lid)
    redis.call('ZADD', p .. 'label-customers:' .. lid, 0, cid)
  end
elseif mode == 'detach' then
  for i = 5, #ARGV do
    if redis.call('SREM', KEYS[2], ARGV[i]) == 1 then
      redis.call('ZREM', p .. 'label-customers:' .. ARGV[i], cid)
    end
  end
end
local out = {'ok'}
for _, lid in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  out[#out + 1] = redis.call('HGETALL', p .. 'label:' .. lid)
end
return out
