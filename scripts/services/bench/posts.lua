-- Throughput scenarios for wrk: GET a path (the script's argument, default
-- /api/posts) from many simulated clients.
-- Each request carries its own X-Forwarded-For address (the gateway trusts one
-- proxy hop under services-up), so per-address read limits apply per client as
-- they would behind the ingress gateway, not to the one load-generator address.
-- done() prints the figures as one JSON line for bench.py.
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  seq = 0
  path = args[1] or "/api/posts"
end

function request()
  seq = seq + 1
  local address = string.format("10.%d.%d.%d", id % 250, math.floor(seq / 250) % 250, seq % 250)
  return wrk.format("GET", path, { ["X-Forwarded-For"] = address })
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    '{"requests": %d, "duration_s": %.3f, "errors": %d, "p50_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f}\n',
    summary.requests, summary.duration / 1e6, errors,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
