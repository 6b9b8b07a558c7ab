-- Read, attach or detach a customer's labels, and answer with the labels after,
-- all in one step and one round trip. Checking that labels exist and attaching
-- them is one step, so a label deleted meanwhile can never end up attached.
-- KEYS[1] customer hash, KEYS[2] the customer's label set (label numbers)
-- ARGV[1] catalogue key prefix, ARGV[2] 'get', 'attach' or 'detach', ARGV[3] label cap,
-- ARGV[4..] distinct label ids
-- Returns {'ok', the labels as JSON: {"data": [label, ...]}}, {'missing'}, {'unknown', {ids}}
-- or {'cap', attached, adding}.
local cat, mode = ARGV[1], ARGV[2]
local c = redis.call('HGET', KEYS[1], 'n')
if not c then return {'missing'} end
if mode ~= 'get' and #ARGV >= 4 then
  local unknown, numbers = {}, {}
  local found = redis.call('HMGET', cat .. 'label-numbers', unpack(ARGV, 4))
  for i = 4, #ARGV do
    local n = found[i - 3]
    if n then numbers[#numbers + 1] = n else unknown[#unknown + 1] = ARGV[i] end
  end
  if mode == 'attach' then
    if #unknown > 0 then return {'unknown', unknown} end
    local new = {}
    if #numbers > 0 then
      local present = redis.call('SMISMEMBER', KEYS[2], unpack(numbers))
      for i, n in ipairs(numbers) do
        if present[i] == 0 then new[#new + 1] = n end
      end
    end
    local attached = redis.call('SCARD', KEYS[2])
    if attached + #new > tonumber(ARGV[3]) then return {'cap', attached, #new} end
    for _, n in ipairs(new) do
      redis.call('SADD', KEYS[2], n)
      redis.call('SETBIT', cat .. 'carriers:' .. n, c, 1)
    end
  else
    for _, n in ipairs(numbers) do
      if redis.call('SREM', KEYS[2], n) == 1 then redis.call('SETBIT', cat .. 'carriers:' .. n, c, 0) end
    end
  end
end
-- The answer, as the API's JSON body, joined from the labels' cards: each is
-- "<length of the name key>:<name key><the label as JSON>", kept ready in
-- label-cards. Names are unique by name key, so sorting by it alone is the
-- API's order (by name case-insensitively, then id).
local cards = {}
local numbers = redis.call('SMEMBERS', KEYS[2])
if #numbers > 0 then
  -- A label being deleted loses its card at once, though its number may
  -- linger in the set until its carriers are detached: it is not shown.
  for _, card in ipairs(redis.call('HMGET', cat .. 'label-cards', unpack(numbers))) do
    if card then
      local colon = string.find(card, ':', 1, true)
      local length = tonumber(string.sub(card, 1, colon - 1))
      cards[#cards + 1] = {string.sub(card, colon + 1, colon + length), string.sub(card, colon + length + 1)}
    end
  end
end
table.sort(cards, function(a, b) return a[1] < b[1] end)
local objects = {}
for i, card in ipairs(cards) do objects[i] = card[2] end
return {'ok', '{"data": [' .. table.concat(objects, ', ') .. ']}'}
