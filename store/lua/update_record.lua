-- Change fields of a label or a customer.
-- KEYS[1] record hash, KEYS[2] label-names hash and KEYS[3] label-cards hash (labels only)
-- ARGV[1] id, ARGV[2] new name key or '', ARGV[3] n, ARGV[4..3+n] fields to remove,
-- then field, value, ... to set.
-- Returns {'ok', fields}, {'missing'} or {'name'} (the new name is taken).
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local newkey = ARGV[2]
if newkey ~= '' then
  local holder = redis.call('HGET', KEYS[2], newkey)
  if holder and holder ~= ARGV[1] then return {'name'} end
  redis.call('HDEL', KEYS[2], redis.call('HGET', KEYS[1], 'key'))
  redis.call('HSET', KEYS[2], newkey, ARGV[1])
  redis.call('HSET', KEYS[1], 'key', newkey)
end
local n = tonumber(ARGV[3])
for i = 4, 3 + n do redis.call('HDEL', KEYS[1], ARGV[i]) end
redis.call('HSET', KEYS[1], unpack(ARGV, 4 + n))
if KEYS[3] then
  -- The label's card, as create_label and replace make it in Python.
  local names = {'id', 'name', 'color', 'description', 'createdAt', 'updatedAt'}
  local values = redis.call('HMGET', KEYS[1], 'key', 'n', unpack(names))
  local fields = {}
  for i, name in ipairs(names) do
    local value = values[i + 2]
    fields[i] = '"' .. name .. '": ' .. (value and cjson.encode(value) or 'null')
  end
  redis.call('HSET', KEYS[3], values[2], #values[1] .. ':' .. values[1] .. '{' .. table.concat(fields, ', ') .. '}')
end
return {'ok', redis.call('HGETALL', KEYS[1])}
