-- SPDX-License-Identifier: Apache-2.0
-- wrk script for keywardd's benchmark (bench/service_bench.py): POSTs one fixed JSON body to
-- one Transit path over keep-alive connections, and prints one JSON line of results.
-- Environment: KW_TOKEN (a service token), KW_PATH (/v1/transit/...), KW_BODY (a file).
wrk.method = "POST"
wrk.path = os.getenv("KW_PATH")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Vault-Token"] = os.getenv("KW_TOKEN")
local file = assert(io.open(os.getenv("KW_BODY"), "rb"))
wrk.body = file:read("*a")
file:close()

-- No response() hook: defining one makes wrk parse every body. A non-2xx answer is counted
-- by wrk itself (summary.errors.status) and reported below.
done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_us": %d, "p99_us": %d, ' ..
    '"non_2xx": %d, "socket_errors": %d}\n',
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50),
    latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
