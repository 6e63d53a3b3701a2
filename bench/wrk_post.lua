-- wrk script for the webhook benches: POSTs one GitLab payload over and over and counts answers.
--
-- Environment:
--   WRK_BODY        path of the JSON body to post (required)
--   WRK_TOKEN       X-Gitlab-Token to send (optional)
--   WRK_EVENT       X-Gitlab-Event (default "Push Hook")
--
-- At the end it prints one line `WRK_RESULT {json}`: wrk's totals and latency percentiles (µs),
-- the 2xx / non-2xx answers counted in response(), the status histogram, and the highest
-- delivery id seen in a 2xx body (pac-tui answers {"id": N, "verdict": ...}; 0 for others).

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   local path = os.getenv("WRK_BODY")
   local f = assert(io.open(path, "rb"), "WRK_BODY: cannot open " .. tostring(path))
   wrk.method = "POST"
   wrk.body = f:read("*a")
   f:close()
   wrk.headers["Content-Type"] = "application/json"
   wrk.headers["User-Agent"] = "GitLab/17.6.0"
   wrk.headers["X-Gitlab-Event"] = os.getenv("WRK_EVENT") or "Push Hook"
   local token = os.getenv("WRK_TOKEN")
   if token and token ~= "" then
      wrk.headers["X-Gitlab-Token"] = token
   end
   req = wrk.format()
   ok = 0
   other = 0
   max_id = 0
   statuses = {}
end

function request()
   return req
end

function response(status, headers, body)
   if status >= 200 and status < 300 then
      ok = ok + 1
      local id = tonumber(string.match(body or "", '"id": *(%d+)'))
      if id and id > max_id then
         max_id = id
      end
   else
      other = other + 1
   end
   local key = tostring(status)
   statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
   local total_ok, total_other, top = 0, 0, 0
   local merged = {}
   for _, thread in ipairs(threads) do
      total_ok = total_ok + thread:get("ok")
      total_other = total_other + thread:get("other")
      top = math.max(top, thread:get("max_id"))
      for code, n in pairs(thread:get("statuses")) do
         merged[code] = (merged[code] or 0) + n
      end
   end
   local parts = {}
   for code, n in pairs(merged) do
      table.insert(parts, string.format('"%s":%d', code, n))
   end
   local e = summary.errors
   io.write(string.format(
      'WRK_RESULT {"duration_us":%d,"requests":%d,"ok":%d,"non_2xx":%d,"max_id":%d,' ..
      '"statuses":{%s},"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
      summary.duration, summary.requests, total_ok, total_other, top, table.concat(parts, ","),
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      latency.mean))
end
