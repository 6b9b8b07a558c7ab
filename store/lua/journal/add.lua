-- Keep a request's entry in a namespace's journal, newest first, numbered.
-- KEYS: journal (list), journal-meta (hash: seq, bytes), coverage (hash)
-- ARGV: the entry (a JSON object's text), most entries, most bytes, the
--       coverage field ("METHOD /path status", or "" for none)
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
local entry = '{"id":"' .. seq .. '",' .. string.sub(ARGV[1], 2)
redis.call('LPUSH', KEYS[1], entry)
local bytes = redis.call('HINCRBY', KEYS[2], 'bytes', #entry)
local count = redis.call('LLEN', KEYS[1])
-- The oldest go first; the newest always stays.
while count > tonumber(ARGV[2]) or (bytes > tonumber(ARGV[3]) and count > 1) do
  bytes = redis.call('HINCRBY', KEYS[2], 'bytes', -#redis.call('RPOP', KEYS[1]))
  count = count - 1
end
if ARGV[4] ~= '' then
  redis.call('HINCRBY', KEYS[3], ARGV[4], 1)
end
return seq
