-- post hook with a bug: arithmetic on a string
return function(req, out)
    local label = "p=" .. out[1][2]
    return { score = label + 1 }
end
