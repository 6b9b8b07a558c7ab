-- Included at the top of the scripts that check If-Match: ETags, made as store/base.py
-- makes them (sha1 hex digests). A customer's labels: of the answer's JSON text. A label:
-- of its card's JSON, a space and how many customers carry it. A customer: of each field
-- (base.CUSTOMER_FIELDS, in order) as its length in bytes, ':' and its value, or '-'.
-- A guard is '' (no If-Match), '*' (any), or the tags given, separated by spaces.
local CUSTOMER_FIELDS = {'id', 'name', 'email', 'createdAt', 'updatedAt'}
local function customer_tag(key)
  local parts = {}
  for i, value in ipairs(redis.call('HMGET', key, unpack(CUSTOMER_FIELDS))) do
    parts[i] = value and (#value .. ':' .. value) or '-'
  end
  return redis.sha1hex(table.concat(parts))
end
local function label_tag(card, count)
  local colon = string.find(card, ':', 1, true)
  return redis.sha1hex(string.sub(card, colon + tonumber(string.sub(card, 1, colon - 1)) + 1) .. ' ' .. count)
end
local function matches(guard, tag)
  return guard == '' or guard == '*' or string.find(' ' .. guard .. ' ', ' ' .. tag .. ' ', 1, true) ~= nil
end
