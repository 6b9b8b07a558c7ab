-- A segment: the customers that carry every label of 'all', at least one of 'any' and
-- none of 'none', counted or paged oldest first. Set algebra over the labels' carriers
-- bitmaps (BITOP), then BITPOS for a page: each command is linear in the bitmap's size
-- (125 KB at a million customers), so the whole script stays in the milliseconds.
-- KEYS[1] label-numbers hash, KEYS[2] zset of customer ids, KEYS[3] customer-seq
-- Derived (the catalogue's slot, with KEYS): C carriers:<n> of each label named,
-- C customer-ids:<c div 128>, and scratch keys C segment:<clause>, deleted before the
-- end; on one Redis or in a mock namespace, P customer:{<id>} of each customer paged.
-- ARGV[1] catalogue key prefix C, ARGV[2] customer key prefix P, or '' to answer ids
-- (a cluster, whose caller reads each customer), ARGV[3] 'count', or the number of the
-- last customer seen (-1: none), ARGV[4] how many, ARGV[5] how many ids 'all' has,
-- ARGV[6] how many 'any' has, ARGV[7] WALK (below), then the ids: 'all''s, 'any''s, 'none''s.
-- Returns {'unknown', {ids}}, {'count', n} or {'ok', where to go on (-1: the end, or
-- the page is full), number, customer fields or id, ...}. A segment of 'none' alone
-- walks the index of customers, at most WALK numbers a call: the caller calls again
-- from where it stopped.
local WALK = tonumber(ARGV[7])
local cat, p = ARGV[1], ARGV[2]
local n_all, n_any = tonumber(ARGV[5]), tonumber(ARGV[6])
local ids = {unpack(ARGV, 8)}
local numbers = redis.call('HMGET', KEYS[1], unpack(ids))
local unknown, bitmaps = {}, {{}, {}, {}}
for i, id in ipairs(ids) do
  if numbers[i] then
    local clause = i <= n_all and 1 or (i <= n_all + n_any and 2 or 3)
    table.insert(bitmaps[clause], cat .. 'carriers:' .. numbers[i])
  else
    unknown[#unknown + 1] = id
  end
end
if #unknown > 0 then return {'unknown', unknown} end

local scratch = {cat .. 'segment:all', cat .. 'segment:any', cat .. 'segment:none'}
local function combine(clause, op)
  if #bitmaps[clause] == 0 then return nil end
  redis.call('BITOP', op, scratch[clause], unpack(bitmaps[clause]))
  return scratch[clause]
end
local all, any, none = combine(1, 'AND'), combine(2, 'OR'), combine(3, 'OR')
local selected = all or any
if all and any then redis.call('BITOP', 'AND', all, all, any) end
if selected and none then
  -- Selected and NOT none: NOT first, over at least as many bytes as selected has
  -- (BITOP pads the shorter with zeros, which NOT would leave as zeros).
  local length = redis.call('STRLEN', selected)
  if length > 0 and redis.call('STRLEN', none) < length then redis.call('SETRANGE', none, length - 1, '\0') end
  redis.call('BITOP', 'NOT', none, none)
  redis.call('BITOP', 'AND', selected, selected, none)
end

local out
if ARGV[3] == 'count' then
  if selected then
    out = {'count', redis.call('BITCOUNT', selected)}
  else  -- none alone: every customer but those carrying one of them
    out = {'count', redis.call('ZCARD', KEYS[2]) - redis.call('BITCOUNT', none)}
  end
else
  local position, want = tonumber(ARGV[3]) + 1, tonumber(ARGV[4])
  out = {'ok', -1}
  local function add(c, id)
    out[#out + 1] = c
    out[#out + 1] = p == '' and id or redis.call('HGETALL', p .. 'customer:{' .. id .. '}')
  end
  if selected then
    while #out < 2 + 2 * want do
      position = redis.call('BITPOS', selected, 1, position, -1, 'BIT')
      if position < 0 then break end
      local id = redis.call('HGET', cat .. 'customer-ids:' .. math.floor(position / 128), position)
      if id then add(position, id) end
      position = position + 1
    end
  else
    local last, stop = tonumber(redis.call('GET', KEYS[3]) or '0'), position + WALK
    while #out < 2 + 2 * want and position <= last do
      if position >= stop then
        out[2] = position - 1
        break
      end
      local bucket = math.floor(position / 128)
      local entries, found = redis.call('HGETALL', cat .. 'customer-ids:' .. bucket), {}
      for i = 1, #entries, 2 do
        local c = tonumber(entries[i])
        if c >= position then found[#found + 1] = {c, entries[i + 1]} end
      end
      table.sort(found, function(a, b) return a[1] < b[1] end)
      for _, entry in ipairs(found) do
        if #out >= 2 + 2 * want then break end
        if not none or redis.call('GETBIT', none, entry[1]) == 0 then add(entry[1], entry[2]) end
      end
      position = (bucket + 1) * 128
    end
  end
end
redis.call('DEL', unpack(scratch))
return out
