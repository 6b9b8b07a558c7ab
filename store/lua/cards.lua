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
local function answer(cards, numbers)
  local found, dead = {}, {}
  if #numbers > 0 then
    for i, card in ipairs(redis.call('HMGET', cards, unpack(numbers))) do
      if card then
        local colon = string.find(card, ':', 1, true)
        local length = tonumber(string.sub(card, 1, colon - 1))
        found[#found + 1] = {string.sub(card, colon + 1, colon + length), string.sub(card, colon + length + 1)}
      else
        dead[#dead + 1] = numbers[i]
      end
    end
  end
  table.sort(found, function(a, b) return a[1] < b[1] end)
  local objects = {}
  for i, card in ipairs(found) do objects[i] = card[2] end
  return '{"data":[' .. table.concat(objects, ',') .. ']}', dead
end

