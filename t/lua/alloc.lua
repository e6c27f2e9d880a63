-- pre: holds a string of ?mb= megabytes while it passes the body's "rows" on
return function(req)
    local mb = tonumber(req.args.mb) or 0
    local s = string.rep("x", mb * 1024 * 1024)
    if #s ~= mb * 1024 * 1024 then
        return nil, 500, "short string"
    end
    return req.body.rows
end
