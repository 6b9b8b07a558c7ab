-- One page of a label's carriers, in the order the customers were created.
-- KEYS[1] label hash
-- Derived from stored data: C carriers:<n> (the label's number), C customer-ids:<c div 128>
-- and P customer:{<id>} for each carrier (C and P the prefixes in ARGV). One Redis, or a
-- mock namespace, whose keys share one slot; a cluster lists carriers in cluster.py.
-- ARGV[1] catalogue key prefix, ARGV[2] customer key prefix, ARGV[3] the number of the last
-- customer seen, or -1, ARGV[4] how many
-- Returns {'ok', {customer number, customer fields}, ...} or {'missing'}.
local c, p = ARGV[1], ARGV[2]
local n = redis.call('HGET', KEYS[1], 'n')
if not n then return {'missing'} end
local carriers = c .. 'carriers:' .. n
local out = {'ok'}
local position = tonumber(ARGV[3]) + 1
while #out <= tonumber(ARGV[4]) do
  position = redis.call('BITPOS', carriers, 1, position, -1, 'BIT')
  if position < 0 then break end
  local id = redis.call('HGET', c .. 'customer-ids:' .. math.floor(position / 128), position)
  out[#out + 1] = {position, redis.call('HGETALL', p .. 'customer:{' .. id .. '}')}
  position = position + 1
end
return out
