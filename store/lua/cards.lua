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
-- order is by code point: in UTF-8, the order of the bytes. So name keys are compared as
-- lists of their bytes.
local byte, find, sub = string.byte, string.find, string.sub
local function before(a, b)
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
        local length = tonumber(sub(card, 1, colon - 1))
        found[#found + 1] = {{byte(card, colon + 1, colon + length)}, sub(card, colon + length + 1)}
      else
        dead[#dead + 1] = numbers[i]
      end
    end
  end
  table.sort(found, before)
  local objects = {}
  for i, card in ipairs(found) do objects[i] = card[2] end
  return '{"data":[' .. table.concat(objects, ',') .. ']}', dead
end
