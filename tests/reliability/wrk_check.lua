-- wrk script: sends the requests of $REL_DIR/requests.lua (prepare.py) in
-- turn -- only the valid ones, or all of them with REL_MIX=mixed -- and
-- checks every response: its status and body must be those of one of the
-- requests sent (the bodies were checked against xgboost's own predictions
-- by prepare.py).  done() prints one summary line for run.sh to read.

local dir = assert(os.getenv("REL_DIR"), "REL_DIR is not set")
local mixed = os.getenv("REL_MIX") == "mixed"
local all = dofile(dir .. "/requests.lua")

local list, answers = {}, {}
for _, r in ipairs(all) do
    if mixed or r.valid then
        table.insert(list, r)
        answers[r.answer] = r.status
    end
end

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    n_sent, n_checked, n_ok, n_4xx, n_bad = 0, 0, 0, 0, 0
    first_bad = ""
    prepared = {}
    for i, r in ipairs(list) do
        -- the request's own headers and those given with wrk -H
        local h = {}
        for k, v in pairs(wrk.headers) do h[k] = v end
        for k, v in pairs(r.headers) do h[k] = v end
        prepared[i] = wrk.format("POST", r.path, h, r.body)
    end
end

function request()
    n_sent = n_sent + 1
    return prepared[(n_sent - 1) % #prepared + 1]
end

function response(status, headers, body)
    n_checked = n_checked + 1
    if answers[body] == status then
        if status == 200 then n_ok = n_ok + 1 else n_4xx = n_4xx + 1 end
    else
        n_bad = n_bad + 1
        if first_bad == "" then
            first_bad = status .. " " .. string.sub(body, 1, 200)
        end
    end
end

function done(summary, latency, requests)
    local checked, ok, e4, bad, example = 0, 0, 0, 0, ""
    for _, t in ipairs(threads) do
        checked = checked + t:get("n_checked")
        ok = ok + t:get("n_ok")
        e4 = e4 + t:get("n_4xx")
        bad = bad + t:get("n_bad")
        if example == "" then example = t:get("first_bad") end
    end
    io.write(string.format("CHECK checked=%d ok=%d expected_4xx=%d wrong=%d p50_us=%d p99_us=%d\n",
        checked, ok, e4, bad, latency:percentile(50), latency:percentile(99)))
    if bad > 0 then
        io.write("CHECK first wrong answer: " .. example .. "\n")
    end
end
