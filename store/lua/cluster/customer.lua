-- A customer's own step on a Redis Cluster (one slot; see store/cluster.py): read,
-- attach or detach its labels, make or delete it. A change of its set counts in the
-- hash's 's', adds the numbers it changed to 'p' (changed, their bits perhaps not yet
-- following), and is noted in the slot's pending zset, where the sweep finds it.
-- KEYS[1] customer hash, KEYS[2] its label set, KEYS[3] its slot's pending zset
-- ARGV[1] op, and after a ':' an If-Match guard: for 'delete' the tags (tags.lua), for a
-- change of the set the change count 's' it had when read; ARGV[2] customer id, ARGV[3] now;
-- then for 'attach', 'detach' and 'replace' (the set becomes exactly the numbers given):
-- the label cap, the last label number the caller knows of, a bitmap of those numbers
-- that are live labels' (bit n of byte n div 8, most significant first), label numbers; 'create': its number, field, value, ...; 'settle' (the
-- sweep saw the bits follow change ARGV[4]): that change count, the pending entry, and
-- the customer number it names (a customer made again has another: the entry just goes).
-- Returns {'ok', customer number, change count, {numbers in the set}, {numbers in 'p'},
-- {numbers this changed}} ('delete': the set it had), {'missing'}, {'precondition'},
-- {'cap', attached, adding, {numbers in the set}}; 'create': 1, or 0 when the id is taken.
local op, guard = string.match(ARGV[1], '^(%a+):?(.*)$')
local id = ARGV[2]
if op == 'create' then
  if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
  redis.call('HSET', KEYS[1], 'n', unpack(ARGV, 4))
  return 1
end
local c, s, p = unpack(redis.call('HMGET', KEYS[1], 'n', 's', 'p'))
if op == 'settle' then
  local same = c == ARGV[6] and (s or '0') == ARGV[4]
  if same then redis.call('HDEL', KEYS[1], 'p') end
  if same or c ~= ARGV[6] then redis.call('ZREM', KEYS[3], ARGV[5]) end
  return 1
end
if not c then return {'missing'} end
if guard ~= '' and (op == 'delete' and not matches(guard, customer_tag(KEYS[1])) or op ~= 'delete' and guard ~= (s or '0')) then
  return {'precondition'}
end
local set, changed = redis.call('SMEMBERS', KEYS[2]), {}
if op ~= 'get' and op ~= 'delete' then
  local seq, live = tonumber(ARGV[5]), ARGV[6]
  local added, removed, after = change_set(KEYS[2], op, set, {unpack(ARGV, 7)}, tonumber(ARGV[4]), function(m)
    local n = tonumber(m)
    return n <= seq and bit.band(string.byte(live, math.floor(n / 8) + 1), bit.rshift(128, n % 8)) == 0
  end)
  if not added then return {'cap', removed, after, set} end
  for _, n in ipairs(removed) do added[#added + 1] = n end
  set, changed = after, added
end
local pending, seen = {}, {}
for n in string.gmatch((p or '') .. ' ' .. table.concat(changed, ' '), '%d+') do
  if not seen[n] then pending[#pending + 1], seen[n] = n, true end
end
if op == 'delete' then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('ZADD', KEYS[3], ARGV[3], id .. ' ' .. c .. ' ' .. table.concat(set, ' '))
elseif #changed > 0 then
  s = redis.call('HINCRBY', KEYS[1], 's', 1)
  redis.call('HSET', KEYS[1], 'p', table.concat(pending, ' '))
  redis.call('ZADD', KEYS[3], ARGV[3], id .. ' ' .. c)
end
return {'ok', c, s or '0', set, pending, changed}
