-- wrk script of bench/http_bench.sh: POSTs the body in the file named by
-- $WRK_BODY (JSON) to the URL given on the command line, and prints one
-- machine-readable summary line at the end.
local f = assert(io.open(assert(os.getenv("WRK_BODY"), "set WRK_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "WRK_RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d " ..
        "non2xx=%d errors=%d\n",
        summary.requests, summary.duration,
        latency:percentile(50), latency:percentile(99),
        e.status, e.connect + e.read + e.write + e.timeout))
end
