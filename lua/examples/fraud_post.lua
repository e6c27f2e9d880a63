-- post hook of the fraud example (a binary model served with
-- predict_proba=on: each out[i] is {p(legit), p(fraud)}).  Answers a label,
-- the fraud probability and a decision from a threshold (?threshold=0.7,
-- default 0.5), with the model's name and the caller's X-Request-Id.
return function(req, out)
    local threshold = tonumber(req.args.threshold) or 0.5
    local results = {}

    for i, p in ipairs(out) do
        local fraud = p[2]
        results[i] = {
            label = fraud > 0.5 and "fraud" or "legit",
            fraud_probability = fraud,
            decision = fraud > threshold and "review" or "accept",
        }
    end

    return {
        model = req.model.name .. "/" .. req.model.version,
        request_id = req.headers["x-request-id"],
        threshold = threshold,
        results = results,
    }
end
