-- wrk script of `forest tune`: POSTs the request bodies of the file named by
-- $FOREST_TUNE_BODIES (one JSON body a line) in turn, each thread starting at
-- its own place, to the path $FOREST_TUNE_PATH, and prints one
-- machine-readable summary line at the end.
local bodies = {}
local file = assert(os.getenv("FOREST_TUNE_BODIES"), "set FOREST_TUNE_BODIES")
for line in io.lines(file) do
    if #line > 0 then
        bodies[#bodies + 1] = line
    end
end
assert(#bodies > 0, "no request bodies")
local path = assert(os.getenv("FOREST_TUNE_PATH"), "set FOREST_TUNE_PATH")
local requests = {}
local next_one = 0

function init(args)
    -- wrk.format once per body: the loop then only hands out strings
    for i, b in ipairs(bodies) do
        requests[i] = wrk.format("POST", path,
                                 { ["Content-Type"] = "application/json" }, b)
    end
    next_one = math.random(#requests) - 1
end

function request()
    next_one = next_one % #requests + 1
    return requests[next_one]
end

function done(summary, latency, requests)
    local e = summary.errors
    local fields = { "requests=" .. summary.requests,
                     "duration_us=" .. summary.duration }
    for _, p in ipairs({ 50, 95, 99 }) do
        fields[#fields + 1] = string.format("p%d_us=%d", p,
                                            latency:percentile(p))
    end
    fields[#fields + 1] = "non2xx=" .. e.status
    fields[#fields + 1] = "errors=" .. (e.connect + e.read + e.write + e.timeout)
    io.write("FOREST_TUNE " .. table.concat(fields, " ") .. "\n")
end
