-- Category codes of the fraud example's string features, as the model was
-- trained with them (XGBoost/LightGBM categorical features take the codes
-- 0..K-1).  A module of its own so that pre hooks share it through
-- require "fraud_maps" (forest_lua_package_path names this directory).
local M = {}

M.channel = { web = 0, app = 1, store = 2 }

M.merchant = {}
for code = 0, 14 do
    M.merchant[string.format("m%02d", code)] = code
end

return M
