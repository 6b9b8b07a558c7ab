-- Read, attach or detach a customer's labels, and answer with the labels after
-- (cards.lua's answer), all in one step and one round trip. Checking that labels
-- exist and attaching them is one step, so a label deleted meanwhile can never
-- end up attached.
-- KEYS[1] customer hash, KEYS[2] the customer's label set (label numbers),
-- KEYS[3] label-numbers hash, KEYS[4] label-cards hash
-- Derived from stored numbers: C carriers:<n> for each label attached or detached
-- (C is the catalogue prefix, ARGV[1]; these lie in the slot of KEYS[3] and KEYS[4]).
-- ARGV[1] catalogue key prefix, ARGV[2] 'get', 'attach', 'detach' or 'replace' (the
-- customer carries exactly the ids given, all or nothing like attach), ARGV[3] label cap,
-- ARGV[4] the If-Match guard (tags.lua: the answer's tag before), ARGV[5..] distinct label ids
-- Returns {'ok', the labels as JSON: {"data": [label, ...]}}, {'missing'}, {'unknown', {ids}},
-- {'cap', attached, adding} or {'precondition'}.
local cat, mode = ARGV[1], ARGV[2]
local c = redis.call('HGET', KEYS[1], 'n')
if not c then return {'missing'} end
-- The set is read once: what is attached, and what the answer is made from.
local members = redis.call('SMEMBERS', KEYS[2])
if ARGV[4] ~= '' and not matches(ARGV[4], redis.sha1hex((answer(KEYS[4], members)))) then
  return {'precondition'}
end
if mode == 'get' or (mode ~= 'replace' and #ARGV < 5) then
  return {'ok', (answer(KEYS[4], members))}
end
local numbers, unknown = {}, {}
if #ARGV >= 5 then
  local found = redis.call('HMGET', KEYS[3], unpack(ARGV, 5))
  for i = 5, #ARGV do
    local n = found[i - 4]
    if n then numbers[#numbers + 1] = n else unknown[#unknown + 1] = ARGV[i] end
  end
end
if mode ~= 'detach' and #unknown > 0 then return {'unknown', unknown} end
local added, removed, after = change_set(KEYS[2], mode, members, numbers, tonumber(ARGV[3]), function(m)
  return redis.call('HEXISTS', KEYS[4], m) == 0
end)
if not added then return {'cap', removed, after} end
for _, n in ipairs(added) do redis.call('SETBIT', cat .. 'carriers:' .. n, c, 1) end
for _, n in ipairs(removed) do redis.call('SETBIT', cat .. 'carriers:' .. n, c, 0) end
return {'ok', (answer(KEYS[4], after))}
