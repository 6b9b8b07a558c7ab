-- Included at the top of the scripts that change a customer's set of label numbers
-- (customer_labels.lua on one Redis, cluster/customer.lua): the rules of attach, detach
-- and replace, in one place.
-- change_set(set, mode, members, numbers, cap, dead): ``set`` is the set's key, ``members``
-- its numbers as read, ``numbers`` the distinct numbers given; 'attach' adds those it
-- lacks, unless that would take it past ``cap``; 'detach' takes off those it has;
-- 'replace' makes it hold exactly ``numbers``. ``dead(m)``, when given, tells a member
-- that is a deleted label's number (its carriers still being detached): an attach that
-- would pass the cap takes those off first, as the detaching would, and counts again.
-- Returns the numbers added, those removed (a dead one taken off is in neither: its
-- bitmap is the label delete's to clear) and the set after; or, when an attach would pass
-- the cap, nothing changed: nil, how many the set holds, how many it would add.
local function change_set(set, mode, members, numbers, cap, dead)
  local have, added, removed = {}, {}, {}
  for _, n in ipairs(members) do have[n] = true end
  if mode == 'replace' then
    local wanted = {}
    for _, n in ipairs(numbers) do wanted[n] = true end
    for _, n in ipairs(members) do
      if not wanted[n] then removed[#removed + 1], have[n] = n, nil end
    end
  end
  for _, n in ipairs(numbers) do
    if mode == 'detach' then
      if have[n] then removed[#removed + 1], have[n] = n, nil end
    elseif not have[n] then
      added[#added + 1], have[n] = n, true
    end
  end
  if mode == 'attach' and #members + #added > cap then
    local attached, dropped = #members, {}
    for _, m in ipairs(dead and members or {}) do
      if dead(m) then dropped[#dropped + 1], have[m], attached = m, nil, attached - 1 end
    end
    if attached + #added > cap then return nil, attached, #added end
    if #dropped > 0 then redis.call('SREM', set, unpack(dropped)) end
  end
  if #removed > 0 then redis.call('SREM', set, unpack(removed)) end
  if #added > 0 then redis.call('SADD', set, unpack(added)) end
  local after = {}
  for n in pairs(have) do after[#after + 1] = n end
  return added, removed, after
end
