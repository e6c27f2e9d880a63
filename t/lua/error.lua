-- pre hook with a bug: it indexes a field the request does not have
return function(req)
    local user = req.body.user
    return { { user.age } }
end
