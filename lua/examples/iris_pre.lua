-- pre hook for the demo's iris model (features sepal_length, sepal_width,
-- petal_length, petal_width, in cm).  Takes flowers measured in cm or mm:
--
--   {"flowers": [{"sepal_length": 51, "sepal_width": 35,
--                 "petal_length": 14, "petal_width": 2, "unit": "mm"}]}
--
-- or a single flower object; "unit" defaults to "cm".
local scale = { cm = 1, mm = 0.1 }
local features = { "sepal_length", "sepal_width", "petal_length", "petal_width" }

return function(req)
    local body = req.body
    if type(body) ~= "table" then
        return nil, 400, "want a flower object or {\"flowers\": [...]}"
    end

    local rows = {}
    for i, flower in ipairs(body.flowers or { body }) do
        local s = scale[flower.unit or "cm"]
        if s == nil then
            return nil, 400, string.format("flower %d: unknown unit %q (cm or mm)",
                                           i, tostring(flower.unit))
        end

        local row = {}
        for _, name in ipairs(features) do
            local v = flower[name]
            if type(v) == "number" then
                row[name] = v * s
            end
        end
        rows[i] = row
    end

    return rows
end
