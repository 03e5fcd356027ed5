-- wrk script for candor's benchmarks (bench/run.ts runs it when wrk is installed):
--   wrk -t1 -c64 -d<seconds> -s bench/wrk/load.lua http://127.0.0.1:<port> -- <kind> <amount> <size> <first>
-- kinds: post (POST /v1/entries, a distinct 256-byte body each: a 20-digit number from
-- <first>, then filler), inclusion (GET /v1/proof/inclusion?index=<random>&size=<size>),
-- tile (GET /tile/0/<random full tile>), bundle (GET /tile/entries/<random full bundle>).
-- Bounded by -d (the rate is measured over it) and, as a safety net, by <amount> responses
-- per thread: a thread that reaches it stops itself, and the run then reports a rate over
-- the full duration, lower than the real one. Prints one JSON line like bench/peers/load.mjs.
local kind, amount, size, first
local counter = 0
local responses = 0
local pad = string.rep("x", 256 - 20)

function init(args)
  kind = args[1]
  amount = tonumber(args[2])
  size = tonumber(args[3])
  first = tonumber(args[4])
  math.randomseed(os.time())
end

local function tileindex(n)
  local s = string.format("%03d", n % 1000)
  n = math.floor(n / 1000)
  while n > 0 do
    s = string.format("x%03d/", n % 1000) .. s
    n = math.floor(n / 1000)
  end
  return s
end

function request()
  counter = counter + 1
  if kind == "post" then
    return wrk.format("POST", "/v1/entries", nil, string.format("%020d", first + counter) .. pad)
  elseif kind == "inclusion" then
    local path = string.format("/v1/proof/inclusion?index=%d&size=%d", math.random(0, size - 1), size)
    return wrk.format("GET", path)
  elseif kind == "tile" then
    return wrk.format("GET", "/tile/0/" .. tileindex(math.random(0, math.floor(size / 256) - 1)))
  else
    return wrk.format("GET", "/tile/entries/" .. tileindex(math.random(0, math.floor(size / 256) - 1)))
  end
end

function response(status, headers, body)
  responses = responses + 1
  if responses >= amount then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout
  local seconds = summary.duration / 1e6
  local ok = summary.requests - e.status - errors
  io.write(string.format(
    '{"generator":"wrk","requests":%d,"ok":%d,"non2xx":%d,"errors":%d,"timeouts":%d,"seconds":%.6f,"okPerSecond":%.1f,"p50":%.3f,"p90":%.3f,"p99":%.3f,"max":%.3f}\n',
    summary.requests, ok, e.status, errors, e.timeout, seconds, ok / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
