-- Up to ARGV[2] entries of a journal, newest first, numbered below ARGV[1] (-1: from
-- the newest). The numbers kept are consecutive (only the oldest are dropped), so
-- the first is at the newest's number minus ARGV[1], plus one.
-- KEYS: journal (list)
local newest = redis.call('LINDEX', KEYS[1], 0)
if not newest then
  return {}
end
local start = 0
if tonumber(ARGV[1]) >= 0 then
  start = math.max(tonumber(string.match(newest, '^{"id":"(%d+)"')) - tonumber(ARGV[1]) + 1, 0)
end
return redis.call('LRANGE', KEYS[1], start, start + tonumber(ARGV[2]) - 1)
