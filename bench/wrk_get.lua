-- wrk script for plain GETs: counts response statuses per thread and prints them at the
-- end as "STATUS <code> <count>" lines, which bench/http_bench.py reads. Answers with an
-- X-Cache-Status header (nginx's page cache, deploy/nginx.conf) are counted by its value
-- too, as "CACHE <value> <count>" lines.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   statuses = {}
   caches = {}
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   local cache = headers["X-Cache-Status"]
   if cache then
      caches[cache] = (caches[cache] or 0) + 1
   end
end

function done(summary, latency, requests)
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses")) do
         io.write(string.format("STATUS %d %d\n", status, n))
      end
      for cache, n in pairs(thread:get("caches")) do
         io.write(string.format("CACHE %s %d\n", cache, n))
      end
   end
end
