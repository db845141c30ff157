-- wrk script: single native events over keep-alive, 10,000 distinct resources in turn, the
-- same shape as triaged-loadgen's. Each wrk thread counts its own requests.
counter = 0
local responses = 0
local bad = 0
request = function()
  local host = counter % 10000
  counter = counter + 1
  local body = '{"resource":"host-' .. string.format("%07d", host) .. '.dc1.example.com","check":"DiskFull",' ..
    '"severity":"critical","service":"billing","summary":"Filesystem /var on host-' .. string.format("%07d", host) ..
    ' is 97% full","labels":{"team":"storage","env":"prod","dc":"fra1","cluster":"c7","mount":"/var"},' ..
    '"annotations":{"runbook":"https://runbooks.example.com/disk-full"}}'
  return wrk.format("POST", "/api/v1/events", {["Content-Type"] = "application/json"}, body)
end
response = function(status)
  responses = responses + 1
  if status ~= 200 then bad = bad + 1 end
end
local threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function(summary)
  local sent = 0
  for _, t in ipairs(threads) do sent = sent + t:get("counter") end
  io.write(string.format("wrk: %d answered, %d sent, %d not 200\n", summary.requests, sent, summary.errors.status))
end
