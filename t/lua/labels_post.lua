-- post hook for a classifier served as class ids: labels instead of ids
local labels = { [0] = "legit", [1] = "fraud" }

return function(req, out)
    local res = forest.array()
    for i, class in ipairs(out) do
        res[i] = labels[class]
    end
    return { labels = res }
end
