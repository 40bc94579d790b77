-- wrk script for plain GETs: counts response statuses per thread and prints them at the
-- end as "STATUS <code> <count>" lines, which bench/http_bench.py reads.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   statuses = {}
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
