-- Mark a customer in the carriers of the labels just attached to it, on a Redis
-- Cluster, but only those still live, checked in the same step: so a label deleted
-- meanwhile is either marked before its carriers are swept, or reported here as
-- dead for the caller to take off the customer.
-- KEYS[1] label-ids hash
-- Derived: C carriers:<n> for each number given (the catalogue's slot, with KEYS[1]).
-- ARGV[1] catalogue key prefix, ARGV[2] customer number, ARGV[3..] label numbers
-- Returns {dead numbers}.
local cat, c, dead = ARGV[1], ARGV[2], {}
for i = 3, #ARGV do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 then
    redis.call('SETBIT', cat .. 'carriers:' .. ARGV[i], c, 1)
  else
    dead[#dead + 1] = ARGV[i]
  end
end
return dead
