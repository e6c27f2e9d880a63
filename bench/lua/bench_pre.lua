-- The pre hook of bench/lua_bench.sh: a realistic feature-engineering step
-- for one transaction.  Two string categories become the model's category
-- codes (f0, f1), one feature is derived (f2 = amount per item), the rest
-- come by name ("f3" .. "f31"); absent fields are missing values.
local channel = { web = 0, app = 1, store = 2 }

local merchant = {}
for code = 0, 99 do
    merchant[string.format("m%02d", code)] = code
end

local names = {}
for j = 0, 63 do
    names[j] = "f" .. j
end

local nan = 0 / 0

return function(req)
    local t = req.body
    local n = req.model.n_features
    local row = {}

    row[1] = channel[t.channel] or nan
    row[2] = merchant[t.merchant] or nan

    local items = t.items or 1
    if items <= 0 then
        return nil, 422, "items must be positive"
    end
    row[3] = (t.amount or nan) / items

    for j = 3, n - 1 do
        local v = t[names[j]]
        row[j + 1] = type(v) == "number" and v or nan
    end

    return { row }
end
