-- pre: the body's "rows" as they are, and its "margins" as the rows'
-- base_margin (a number per row, or an array per row for multiclass).
return function(req)
    local body = req.body or {}
    if type(body.rows) ~= "table" then
        return nil, 400, 'want {"rows": [...], "margins": [...]}'
    end
    return body.rows, body.margins
end
