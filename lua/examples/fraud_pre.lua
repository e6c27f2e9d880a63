-- pre hook of the fraud example (model: xgb_cat, features f0..f7, f0 and f1
-- categorical).  The request is one transaction, or {"transactions": [...]}:
--
--   {"channel": "web", "merchant": "m07", "amount": 120.5, "items": 3,
--    "balance": 2400, "f4": 12, "f5": 0.7, "f6": -0.3, "f7": 5.5}
--
-- String categories become the model's category codes, amount per item and
-- log(balance) are derived, an absent items count defaults to 1, any other
-- absent field is a missing value; a bad transaction rejects the request.
local maps = require "fraud_maps"

local log = math.log
local null = forest.null

local function number(v)
    if v == nil or v == null then
        return nil
    end
    return tonumber(v)
end

local function features(t, i)
    local row = {}

    if t.channel ~= nil and t.channel ~= null then
        row.f0 = maps.channel[t.channel]
        if row.f0 == nil then
            return nil, string.format("transaction %d: unknown channel %q", i,
                                      tostring(t.channel))
        end
    end

    if t.merchant ~= nil and t.merchant ~= null then
        row.f1 = maps.merchant[t.merchant]
        if row.f1 == nil then
            return nil, string.format("transaction %d: unknown merchant %q", i,
                                      tostring(t.merchant))
        end
    end

    local items = number(t.items) or 1
    if items <= 0 then
        return nil, string.format("transaction %d: items must be positive", i)
    end

    local amount = number(t.amount)
    if amount ~= nil then
        row.f2 = amount / items
    end

    local balance = number(t.balance)
    if balance ~= nil then
        if balance <= 0 then
            return nil, string.format("transaction %d: balance must be positive", i)
        end
        row.f3 = log(balance)
    end

    row.f4 = number(t.f4)
    row.f5 = number(t.f5)
    row.f6 = number(t.f6)
    row.f7 = number(t.f7)

    return row
end

return function(req)
    local body = req.body
    if type(body) ~= "table" or getmetatable(body) == forest.array_mt then
        return nil, 400, "want a JSON object: a transaction or {\"transactions\": [...]}"
    end

    local list = body.transactions or { body }
    local rows = {}

    for i, t in ipairs(list) do
        local row, err = features(t, i)
        if row == nil then
            return nil, 422, err
        end
        rows[i] = row
    end

    return rows
end
