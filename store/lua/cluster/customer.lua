-- A customer's own step on a Redis Cluster (one slot; see store/cluster.py): read,
-- attach or detach its labels, make or delete it. A change of its set is counted in
-- the hash's 's' and noted in the slot's pending zset, from which the sweep finishes
-- the catalogue's step if the process stops before it.
-- KEYS[1] customer hash, KEYS[2] its label set, KEYS[3] its slot's pending zset
-- ARGV[1] 'get', 'attach', 'detach', 'delete' or 'create', ARGV[2] customer id, ARGV[3] now,
-- then for attach and detach: the label cap, label numbers; for create: its number, field, value, ...
-- Returns {'ok', customer number, change count, {numbers in the set}, {numbers changed}}
-- (delete: the set it had), {'missing'}, {'cap', attached, adding, {numbers in the set}};
-- create: 1, or 0 when the id is taken.
local op, id = ARGV[1], ARGV[2]
if op == 'create' then
  if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
  redis.call('HSET', KEYS[1], 'n', unpack(ARGV, 4))
  return 1
end
local c, s = unpack(redis.call('HMGET', KEYS[1], 'n', 's'))
if not c then return {'missing'} end
local changed = {}
if op == 'attach' and #ARGV > 4 then
  local numbers = {unpack(ARGV, 5)}
  local present = redis.call('SMISMEMBER', KEYS[2], unpack(numbers))
  for i, n in ipairs(numbers) do
    if present[i] == 0 then changed[#changed + 1] = n end
  end
  local attached = redis.call('SCARD', KEYS[2])
  if attached + #changed > tonumber(ARGV[4]) then return {'cap', attached, #changed, redis.call('SMEMBERS', KEYS[2])} end
  if #changed > 0 then redis.call('SADD', KEYS[2], unpack(changed)) end
elseif op == 'detach' then
  for i = 5, #ARGV do
    if redis.call('SREM', KEYS[2], ARGV[i]) == 1 then changed[#changed + 1] = ARGV[i] end
  end
end
local set = redis.call('SMEMBERS', KEYS[2])
if op == 'delete' then
  redis.call('DEL', KEYS[1], KEYS[2])
  changed = set
elseif #changed > 0 then
  s = redis.call('HINCRBY', KEYS[1], 's', 1)
end
if #changed > 0 or op == 'delete' then
  redis.call('ZADD', KEYS[3], ARGV[3], id .. ' ' .. c .. ' ' .. table.concat(changed, ' '))
end
return {'ok', c, s or '0', set, changed}
