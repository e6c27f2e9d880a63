# The forest_model key gpu_kernel (auto, rows, trees, compact) forces the GPU
# executor's kernel strategy.  device=cpu accepts it and runs on the CPU as
# before, so one configuration serves hosts with and without a GPU; an
# unknown value fails `nginx -t` at its line.
use FindBin;
use lib "$FindBin::Bin/inc";
use ForestT;
use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: gpu_kernel=trees with device=cpu loads and predicts as before
--- http_config
    forest_model fraudp $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on device=cpu gpu_kernel=trees;
--- config
    location /predict/ { forest_predict; }
--- request eval
"POST /predict/fraudp\n{\"instances\": " . ForestT::rows_json(ForestT::input_rows('xgb_binary', 0, 8)) . "}"
--- response_body_filters eval
ForestT::json_like({ predictions => ForestT::predictions('xgb_binary', 'expected', 'proba', 0, 8) })
--- response_body: OK
--- no_error_log
[error]
[emerg]



=== TEST 2: gpu_kernel=rows, compact and auto are accepted
--- http_config
    forest_model a $TEST_NGINX_SHARED/models/xgb_binary.json device=cpu gpu_kernel=rows;
    forest_model b $TEST_NGINX_SHARED/models/xgb_binary.json device=cpu gpu_kernel=auto;
    forest_model c $TEST_NGINX_SHARED/models/xgb_binary.json device=cpu gpu_kernel=compact;
--- config
    location /v2/ { forest_kserve; }
--- pipelined_requests eval
["GET /v2/models/a/ready", "GET /v2/models/b/ready", "GET /v2/models/c/ready"]
--- error_code eval
[200, 200, 200]
--- no_error_log
[error]
[emerg]



=== TEST 3: an unknown gpu_kernel value fails nginx -t at its line
--- http_config
    forest_model fraud $TEST_NGINX_SHARED/models/xgb_binary.json gpu_kernel=warps;
--- config
    location /v2/ { forest_kserve; }
--- must_die
--- error_log eval
qr{\[emerg\].*forest_model "fraud": invalid parameter "gpu_kernel=warps" in \S+nginx\.conf:\d+}
