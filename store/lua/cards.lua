-- Included at the top of the scripts that answer with a customer's labels.
-- The answer, as the API's JSON body, is joined from the labels' cards: each is
-- "<length of the name key>:<name key><the label as JSON>", written by Python
-- (store/redis_support.card, base.label_json: one encoder) and kept ready in a
-- label-cards hash. Names are unique by name key, so sorting by it alone is the
-- API's order (by name case-insensitively, then id).
-- cards: the label-cards hash's key (given in KEYS by the caller); numbers: label numbers.
-- Returns the body, and the numbers that have no card: labels being deleted,
-- which lose their card at once though their number may linger in a customer's
-- set until the carriers are detached. They are not shown.
-- Lua's < on strings follows the locale Redis was started in (strcoll), while the API's
-- order is by code point: in UTF-8, the order of the bytes. Where < is byte order, as in
-- the C locales (which these pairs tell from any other), name keys are compared with it;
-- elsewhere as lists of their bytes, which costs a few microseconds more.
local bytewise = 'B' < 'a' and 'a b' < 'ab' and 'a-' < 'a0' and 'z' < '\195\164'
local byte, find, sub = string.byte, string.find, string.sub
local function before(a, b)
  return a[1] < b[1]
end
local function bytes_before(a, b)
  a, b = a[1], b[1]
  local n = #a < #b and #a or #b
  for i = 1, n do
    if a[i] ~= b[i] then return a[i] < b[i] end
  end
  return #a < #b
end
local function answer(cards, numbers)
  local found, dead = {}, {}
  if #numbers > 0 then
    for i, card in ipairs(redis.call('HMGET', cards, unpack(numbers))) do
      if card then
        local colon = find(card, ':', 1, true)
        local from, to = colon + 1, colon + tonumber(sub(card, 1, colon - 1))
        found[#found + 1] = {bytewise and sub(card, from, to) or {byte(card, from, to)}, sub(card, to + 1)}
      else
        dead[#dead + 1] = numbers[i]
      end
    end
  end
  table.sort(found, bytewise and before or bytes_before)
  local objects = {}
  for i, card in ipairs(found) do objects[i] = card[2] end
  return '{"data":[' .. table.concat(objects, ',') .. ']}', dead
end
