-- wrk script that posts letters: every request reuses one session cookie and CSRF token
-- and sends a new email address (tag, thread number and a counter), so that each one is a
-- first letter. Arguments (after "--"): cookie header, url-encoded form fields without the
-- email, tag. Counts response statuses like wrk_get.lua ("STATUS <code> <count>" lines).

local threads = {}
local next_thread = 0

function setup(thread)
   next_thread = next_thread + 1
   thread:set("thread_number", next_thread)
   table.insert(threads, thread)
end

function init(args)
   statuses = {}
   sent = 0
   fields = args[2]
   tag = args[3]
   wrk.method = "POST"
   wrk.headers["Cookie"] = args[1]
   wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
   sent = sent + 1
   local email = string.format("%s-t%d-%d%%40example.org", tag, thread_number, sent)
   return wrk.format(nil, nil, nil, fields .. "&appeal-email=" .. email)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses")) do
         io.write(string.format("STATUS %d %d\n", status, n))
      end
   end
end
