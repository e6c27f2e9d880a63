-- pre: the body's "rows" go to the model as they are (arrays of numbers, or
-- tables keyed by feature name); null in JSON is a missing value.
return function(req)
    local rows = req.body and req.body.rows
    if type(rows) ~= "table" then
        return nil, 400, 'want {"rows": [...]}'
    end
    return rows
end
