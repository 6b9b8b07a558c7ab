-- POST (attach) the same 5 labels to one of the sample customers: idempotent,
-- so the data does not grow while it runs.
-- wrk ... -s post.lua <url> <token> <customer ids file> <path template> <body>
local ids, token, template, body = {}, nil, nil, nil
function init(args)
  token, template, body = args[1], args[3], args[4]
  for line in io.lines(args[2]) do ids[#ids + 1] = line end
end
local i = 0
function request()
  i = i % #ids + 1
  local headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
  return wrk.format("POST", template:gsub("{id}", ids[i]), headers, body)
end
