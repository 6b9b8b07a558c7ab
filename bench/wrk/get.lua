-- GET one of the sample customers' labels, a different one each request.
-- wrk ... -s get.lua <url> <token> <customer ids file> <path template>
local ids, token, template = {}, nil, nil
function init(args)
  token, template = args[1], args[3]
  for line in io.lines(args[2]) do ids[#ids + 1] = line end
end
local i = 0
function request()
  i = i % #ids + 1
  return wrk.format("GET", template:gsub("{id}", ids[i]), {["Authorization"] = "Bearer " .. token})
end
