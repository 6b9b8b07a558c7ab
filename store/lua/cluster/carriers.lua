-- The customers a label's bitmap names, on a Redis Cluster, where the bitmap may
-- name more than carry it: a detach leaves its bit, a customer's delete too. The
-- caller checks each customer's own keys.
-- KEYS[1] the label's hash ('read') or its carriers bitmap ('sweep')
-- Derived: C carriers:<n> ('read': the label's number), C customer-ids:<c div 128>, and
-- C label-gc ('sweep'), all in the catalogue's slot, with KEYS[1].
-- ARGV[1] catalogue key prefix, ARGV[2] the number of the last customer seen, or -1,
-- ARGV[3] how many, ARGV[4] 'read'; or 'sweep', ARGV[5] the deleted label's number,
-- then the customer numbers the last sweep call returned, to unmark
-- Returns {customer number, customer id or false, ...}; 'read' puts the label's
-- number first, or returns nil when there is no such label; a sweep that finds
-- none left forgets the label (its bitmap and its label-gc entry).
local cat, position, count = ARGV[1], tonumber(ARGV[2]) + 1, tonumber(ARGV[3])
local sweep = ARGV[4] == 'sweep'
local bitmap, out = KEYS[1], {}
if sweep then
  for i = 6, #ARGV do redis.call('SETBIT', bitmap, ARGV[i], 0) end
else
  local n = redis.call('HGET', KEYS[1], 'n')
  if not n then return nil end
  bitmap = cat .. 'carriers:' .. n
  out[1] = n
end
local first = #out
while #out - first < 2 * count do
  position = redis.call('BITPOS', bitmap, 1, position, -1, 'BIT')
  if position < 0 then break end
  out[#out + 1] = position
  out[#out + 1] = redis.call('HGET', cat .. 'customer-ids:' .. math.floor(position / 128), position)
  position = position + 1
end
if sweep and #out == 0 then
  redis.call('DEL', bitmap)
  redis.call('SREM', cat .. 'label-gc', ARGV[5])
end
return out
