-- A customer's labels as the API's JSON body, from one copy of the catalogue's
-- cards on a Redis Cluster (cards.lua's answer).
-- KEYS[1] the copy's label-cards hash
-- ARGV[1..] the numbers the customer carries
-- Returns {the labels as JSON: {"data": [label, ...]}, {numbers without a card}}.
local body, missing = answer(KEYS[1], ARGV)
return {body, missing}
