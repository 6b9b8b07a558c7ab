-- Attach 100 labels to a customer, then detach them, in turn: each attach adds
-- all 100, so its cost is measured, not that of a no-op.
-- wrk ... -s attach100.lua <url> <token> <customer ids file> <labels json list>
local ids, token, labels = {}, nil, nil
function init(args)
  token, labels = args[1], args[3]
  for line in io.lines(args[2]) do ids[#ids + 1] = line end
end
local i = 0
function request()
  i = i + 1
  local id = ids[math.floor((i - 1) / 2) % #ids + 1]
  local method = (i % 2 == 1) and "POST" or "DELETE"
  local headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
  return wrk.format(method, "/customers/customers/" .. id .. "/labels", headers, '{"labels": ' .. labels .. '}')
end
