-- One page of a label's carriers, in the order the customers were created.
-- KEYS[1] label hash
-- ARGV[1] key prefix, ARGV[2] the number of the last customer seen, or -1, ARGV[3] how many
-- Returns {'ok', {customer number, customer fields}, ...} or {'missing'}.
local p = ARGV[1]
local n = redis.call('HGET', KEYS[1], 'n')
if not n then return {'missing'} end
local carriers = p .. 'carriers:' .. n
local out = {'ok'}
local position = tonumber(ARGV[2]) + 1
while #out <= tonumber(ARGV[3]) do
  position = redis.call('BITPOS', carriers, 1, position, -1, 'BIT')
  if position < 0 then break end
  local id = redis.call('HGET', p .. 'customer-ids:' .. math.floor(position / 128), position)
  out[#out + 1] = {position, redis.call('HGETALL', p .. 'customer:{' .. id .. '}')}
  position = position + 1
end
return out
