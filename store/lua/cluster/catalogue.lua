-- The catalogue's step of a change of a customer's labels on a Redis Cluster (see
-- store/cluster.py): the bits of the numbers changed follow the customer's set, and
-- the caller's cached catalogue is brought up to date from the label log.
-- KEYS[1] version, KEYS[2] label-log, KEYS[3] label-numbers, KEYS[4] label-cards, KEYS[5] label-ids
-- Derived: C carriers:<n>, C applied:<c div 128>, C customer-ids:<c div 128>, C label-gc and
-- C label-seq (the catalogue's slot).
-- ARGV[1] catalogue key prefix, ARGV[2] the cached version (-1: none), ARGV[3] customer number
-- or '' (only the cache), ARGV[4] the set's change count, ARGV[5] k, ARGV[6..5+k] the numbers
-- whose bits follow the set, then the numbers in the set.
-- With k = 0, a read: nothing is written, and while the bits do not follow change ARGV[4]
-- yet, the status is 'behind' and the numbers given after are checked.
-- Returns {'ok', 'stale' (a later change of the set came first: nothing written) or 'behind',
-- {'behind': of those checked, the numbers whose bit is not set}, version, and if it is
-- not the cached one: the last label number given, 1 (start again) or 0, then label id,
-- number or '', card or '', ...}.
-- A number of a label deleted before this step that the set holds (the customer's step
-- came after the delete) gets its bit, and the label goes back into label-gc: its
-- detaching, or the sweep, takes the number off the set, as it does every carrier's.
local cat, cached, c, k = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[5])
local out = {'ok', {}}
if c ~= '' then
  local bucket = math.floor(tonumber(c) / 128)
  local applied = cat .. 'applied:' .. bucket
  local s, done = tonumber(ARGV[4]), tonumber(redis.call('HGET', applied, c) or '0')
  if k == 0 then
    if s > done then
      out[1] = 'behind'
      for i = 6, #ARGV do
        if redis.call('GETBIT', cat .. 'carriers:' .. ARGV[i], c) == 0 then out[2][#out[2] + 1] = ARGV[i] end
      end
    end
  elseif s < done then
    out[1] = 'stale'
  else
    -- A customer deleted meanwhile is no longer indexed: its bits go, never come.
    local live, set = redis.call('HEXISTS', cat .. 'customer-ids:' .. bucket, c) == 1, {}
    for i = 6 + k, #ARGV do set[ARGV[i]] = true end
    for i = 6, 5 + k do
      local n, bits = ARGV[i], cat .. 'carriers:' .. ARGV[i]
      local held = live and set[n]
      if held and redis.call('HEXISTS', KEYS[5], n) == 0 then redis.call('SADD', cat .. 'label-gc', n) end
      local want = held and 1 or 0
      if redis.call('GETBIT', bits, c) ~= want then redis.call('SETBIT', bits, c, want) end
    end
    if live then redis.call('HSET', applied, c, ARGV[4]) end
  end
end
local version = tonumber(redis.call('GET', KEYS[1]) or '0')
out[3] = version
if version ~= cached then
  -- The log holds every label write since its start (a replace, or the layout's step).
  local ids
  out[4] = tonumber(redis.call('GET', cat .. 'label-seq') or '0')
  if cached < tonumber(redis.call('ZSCORE', KEYS[2], '') or '0') or version < cached then
    out[5], ids = 1, redis.call('HKEYS', KEYS[3])
  else
    out[5], ids = 0, redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. cached, '+inf')
  end
  for _, id in ipairs(ids) do
    local n = redis.call('HGET', KEYS[3], id)
    if id ~= '' then
      table.insert(out, id)
      table.insert(out, n or '')
      table.insert(out, n and redis.call('HGET', KEYS[4], n) or '')
    end
  end
end
return out
