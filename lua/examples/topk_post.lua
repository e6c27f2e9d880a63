-- post hook for a multiclass model served with predict_proba=on: the k most
-- probable classes of each row (?k=2, default 3), by label.
local labels = { "setosa", "versicolor", "virginica" }

return function(req, out)
    local k = tonumber(req.args.k) or 3
    local predictions = {}

    for i, p in ipairs(out) do
        local order = {}
        for c = 1, #p do
            order[c] = c
        end
        table.sort(order, function(a, b)
            if p[a] ~= p[b] then
                return p[a] > p[b]
            end
            return a < b
        end)

        local top = {}
        for j = 1, math.min(k, #order) do
            local c = order[j]
            top[j] = { label = labels[c] or ("class " .. (c - 1)), probability = p[c] }
        end
        predictions[i] = top
    end

    return { predictions = predictions }
end
