-- Use the first of the fault rules ARGV (oldest first) that exists and has a use
-- left: its id, or false. One script, so that with several processes a rule for
-- N requests is used exactly N times.
-- KEYS: faults (hash: id -> rule), fault-uses (hash: id:left, id:used)
for _, id in ipairs(ARGV) do
  if redis.call('HEXISTS', KEYS[1], id) == 1 then
    local left = redis.call('HGET', KEYS[2], id .. ':left')
    if not left or tonumber(left) > 0 then
      if left then
        redis.call('HINCRBY', KEYS[2], id .. ':left', -1)
      end
      redis.call('HINCRBY', KEYS[2], id .. ':used', 1)
      return id
    end
  end
end
return false
