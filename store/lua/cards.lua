-- Included at the top of the scripts that answer with a customer's labels.
-- The answer, as the API's JSON body, is joined from the labels' cards: each is
-- "<length of the name key>:<name key><the label as JSON>", kept ready in
-- label-cards. Names are unique by name key, so sorting by it alone is the
-- API's order (by name case-insensitively, then id).
-- Returns the body, and the numbers that have no card: labels being deleted,
-- which lose their card at once though their number may linger in a customer's
-- set until the carriers are detached. They are not shown.
local function answer(cat, numbers)
  local cards, dead = {}, {}
  if #numbers > 0 then
    for i, card in ipairs(redis.call('HMGET', cat .. 'label-cards', unpack(numbers))) do
      if card then
        local colon = string.find(card, ':', 1, true)
        local length = tonumber(string.sub(card, 1, colon - 1))
        cards[#cards + 1] = {string.sub(card, colon + 1, colon + length), string.sub(card, colon + length + 1)}
      else
        dead[#dead + 1] = numbers[i]
      end
    end
  end
  table.sort(cards, function(a, b) return a[1] < b[1] end)
  local objects = {}
  for i, card in ipairs(cards) do objects[i] = card[2] end
  return '{"data": [' .. table.concat(objects, ', ') .. ']}', dead
end

