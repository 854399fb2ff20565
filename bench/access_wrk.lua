-- wrk script of bench_access: requests drawn in turn from a file of paths (one per line), the
-- same file for every system measured. "{n}" in a path becomes a number unique to the request
-- (8 digits: salt + request index), which makes every such query distinct.
--   wrk -t1 -c16 -d10s -s bench/access_wrk.lua http://127.0.0.1:PORT -- PATHS_FILE SALT THREADS
-- Prints one JSON line of figures when done.

local paths = {}
local counter = 0
local salt = 0
local nthreads = 1
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  salt = tonumber(args[2] or "0")
  nthreads = tonumber(args[3] or "1")
end

function request()
  local i = counter * nthreads + (id or 0)
  counter = counter + 1
  local path = paths[(i % #paths) + 1]
  path = (string.gsub(path, "{n}", string.format("%08d", salt + i)))
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "bytes": %d, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, ' ..
    '"mean_ms": %.2f, "max_ms": %.2f, "non_2xx": %d, "connect_errors": %d, "read_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration / 1e6, summary.bytes, latency:percentile(50) / 1e3,
    latency:percentile(95) / 1e3, latency:percentile(99) / 1e3, latency.mean / 1e3, latency.max / 1e3,
    e.status, e.connect, e.read, e.timeout))
end
