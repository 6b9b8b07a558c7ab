-- Read, attach or detach a customer's labels, and answer with the labels after,
-- all in one step and one round trip. Checking that labels exist and attaching
-- them is one step, so a label deleted meanwhile can never end up attached.
-- KEYS[1] customer hash, KEYS[2] the customer's label set (label numbers)
-- ARGV[1] key prefix, ARGV[2] 'get', 'attach' or 'detach', ARGV[3] label cap,
-- ARGV[4..] distinct label ids
-- Returns {'ok', the labels as JSON: {"data": [label, ...]}}, {'missing'}, {'unknown', {ids}}
-- or {'cap', attached, adding}.
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
-- The answer, as the API's JSON body: built here, so that nothing needs to
-- decode and encode it again on the way out. Sorted by name key, then id.
local labels = {}
local numbers = redis.call('SMEMBERS', KEYS[2])
if #numbers > 0 then
  -- A label being deleted is gone from label-ids at once, though its number
  -- may linger here until its carriers are detached: it is not shown.
  for _, id in ipairs(redis.call('HMGET', p .. 'label-ids', unpack(numbers))) do
    if id then
      labels[#labels + 1] = redis.call('HMGET', p .. 'label:' .. id,
        'key', 'id', 'name', 'color', 'description', 'createdAt', 'updatedAt')
    end
  end
end
table.sort(labels, function(a, b)
  if a[1] == b[1] then return a[2] < b[2] end
  return a[1] < b[1]
end)
local names = {'id', 'name', 'color', 'description', 'createdAt', 'updatedAt'}
local objects = {}
for i, label in ipairs(labels) do
  local fields = {}
  for j, name in ipairs(names) do
    local value = label[j + 1]
    fields[j] = '"' .. name .. '":' .. (value and cjson.encode(value) or 'null')
  end
  objects[i] = '{' .. table.concat(fields, ',') .. '}'
end
return {'ok', '{"data":[' .. table.concat(objects, ',') .. ']}'}
