-- Detach a deleted label from up to ARGV[3] of its carriers. Called again and
-- again until it answers 1: each call is short, so Redis never stalls.
-- KEYS[1] carriers bitmap of the label, KEYS[2] label-gc set
-- ARGV[1] key prefix, ARGV[2] label number, ARGV[3] batch size
-- Returns 1 when no carrier is left (and the label is forgotten), else 0.
local p, n = ARGV[1], ARGV[2]
local position = 0
for _ = 1, tonumber(ARGV[3]) do
  position = redis.call('BITPOS', KEYS[1], 1, position, -1, 'BIT')
  if position < 0 then break end
  local id = redis.call('HGET', p .. 'customer-ids:' .. math.floor(position / 128), position)
  if id then redis.call('SREM', p .. 'L:{' .. id .. '}', n) end
  redis.call('SETBIT', KEYS[1], position, 0)
end
if position >= 0 and redis.call('BITPOS', KEYS[1], 1, position, -1, 'BIT') >= 0 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], n)
return 1
