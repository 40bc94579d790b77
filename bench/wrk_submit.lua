-- wrk script that posts letters as a browser posts the case page's form: same-origin
-- Fetch Metadata and Origin headers, the page's hidden fields, its cookie if it set one,
-- and a new email address (tag, thread number and a counter) each time, so that each one
-- is a first letter. Arguments (after "--"): cookie header (may be empty), url-encoded
-- form fields without the email, tag, origin. Counts response statuses like wrk_get.lua
-- ("STATUS <code> <count>" lines).

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
   if args[1] ~= "" then
      wrk.headers["Cookie"] = args[1]
   end
   wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
   wrk.headers["Sec-Fetch-Site"] = "same-origin"
   wrk.headers["Origin"] = args[4]
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
