-- Requests spread over a file of customer ids: the one script of every benchmark run.
-- wrk ... -s requests.lua <url> -- <token> <ids file> <methods> <path template> [body]
-- <methods> is one method, or several with commas, taken in turn on each id:
-- "POST,DELETE" attaches and then detaches, so that every attach does its whole work.
-- "{id}" in the path template becomes the customer id.
local token, ids, methods, template, body = nil, {}, {}, nil, nil
function init(args)
  token, template, body = args[1], args[4], args[5]
  for line in io.lines(args[2]) do ids[#ids + 1] = line end
  for method in string.gmatch(args[3], "[^,]+") do methods[#methods + 1] = method end
end
local i = 0
function request()
  local id = ids[math.floor(i / #methods) % #ids + 1]
  local method = methods[i % #methods + 1]
  i = i + 1
  local headers = {["Authorization"] = "Bearer " .. token}
  if body then headers["Content-Type"] = "application/json" end
  return wrk.format(method, (template:gsub("{id}", id)), headers, body)
end
