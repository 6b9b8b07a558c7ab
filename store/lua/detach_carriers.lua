-- Detach a deleted label from up to ARGV[4] of its carriers. Called again and
-- again until it answers 1: each call is short, so Redis never stalls.
-- KEYS[1] carriers bitmap of the label, KEYS[2] label-gc set
-- Derived from stored data: C customer-ids:<c div 128> and each carrier's P L:{<id>}.
-- One Redis, or a mock namespace, whose keys share one slot; a cluster sweeps with
-- cluster/carriers.lua instead.
-- ARGV[1] catalogue key prefix, ARGV[2] customer key prefix, ARGV[3] label number, ARGV[4] batch size
-- Returns 1 when no carrier is left (and the label is forgotten), else 0.
local c, p, n = ARGV[1], ARGV[2], ARGV[3]
local position = 0
for _ = 1, tonumber(ARGV[4]) do
  position = redis.call('BITPOS', KEYS[1], 1, position, -1, 'BIT')
  if position < 0 then break end
  local id = redis.call('HGET', c .. 'customer-ids:' .. math.floor(position / 128), position)
  if id then redis.call('SREM', p .. 'L:{' .. id .. '}', n) end
  redis.call('SETBIT', KEYS[1], position, 0)
end
if position >= 0 and redis.call('BITPOS', KEYS[1], 1, position, -1, 'BIT') >= 0 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], n)
return 1
