-- a runaway pre hook: it never returns
return function(req)
    local n = 0
    while true do
        n = n + 1
    end
end
