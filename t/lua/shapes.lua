-- pre/post hooks that return what ?case= asks for: wrong shapes and types
local pre_cases = {
    string   = function() return { { f0 = "red" } } end,
    count    = function() return { { 1, 2, 3 } } end,
    number   = function() return 42 end,
    name     = function() return { { colour = 1 } } end,
    boolean  = function() return { { 1, 2, 3, 4, 5, 6, 7, true } } end,
    status   = function() return nil, 200, "fine?" end,
    nothing  = function() return nil end,
    flat     = function() return { 1, 2, 3 } end,
    empty    = function() return {} end,
    many     = function() return { {}, {}, {}, {}, {} } end,
    range    = function() return { { f2 = 1e300 } } end,
    reject   = function() return nil, 429, "slow down" end,
    ok       = function() return { { f2 = 0.5 } } end,
}

local post_cases = {
    ["function"] = function() return { f = print } end,
    mixed        = function() return { 1, 2, x = 3 } end,
    cycle        = function() local t = {} t.self = t return t end,
    holes        = function() return { [1] = 1, [3] = 3 } end,
}

local function pre(req)
    return pre_cases[req.args.case]()
end

local function post(req, out)
    local case = post_cases[req.args.post]
    if case then
        return case()
    end
    return { out = out }
end

-- the same file serves as pre and as post hook: post gets out
return function(req, out)
    if out == nil then
        return pre(req)
    end
    return post(req, out)
end
