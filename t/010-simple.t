# The simple API (forest_predict): {"instances"|"inputs": rows} ->
# {"predictions": [...]}; bare rows, object rows by feature name, null and
# absent names as missing values, the margin query argument, and errors.
use FindBin;
use lib "$FindBin::Bin/inc";
use ForestT;
use Test::Nginx::Socket 'no_plan';

our $HttpConfig = <<'_EOC_';
    forest_model fraud  $TEST_NGINX_SHARED/models/xgb_binary.json;
    forest_model fraudp $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on;
    forest_model lgbp   $TEST_NGINX_SHARED/models/lgb_binary.txt predict_proba=on;
    forest_model multi  $TEST_NGINX_SHARED/models/lgb_multiclass.txt predict_proba=on;
    forest_model reg    $TEST_NGINX_SHARED/models/xgb_reg.json;
_EOC_

our $Config = <<'_EOC_';
    location /predict/ { forest_predict; }
    location = /score  { forest_predict fraud; }
    location = /small  { forest_predict fraudp; forest_max_rows 4; }
    location = /tiny   { forest_predict fraudp; client_max_body_size 1k; }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(http_config => $HttpConfig) if !defined $block->http_config;
    $block->set_value(config => $Config) if !defined $block->config;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: instances, binary model with predict_proba: [1-p, p] per row
--- request eval
"POST /predict/fraudp\n{\"instances\": " . ForestT::rows_json(ForestT::input_rows('xgb_binary', 0, 8)) . "}"
--- response_headers_like
Content-Type: application/json.*
--- response_body_filters eval
ForestT::json_like({ predictions => ForestT::predictions('xgb_binary', 'expected', 'proba', 0, 8) })
--- response_body: OK
--- no_error_log
[error]
[warn]



=== TEST 2: "inputs" is the same as "instances"
--- request eval
"POST /predict/fraudp\n{\"inputs\": " . ForestT::rows_json(ForestT::input_rows('xgb_binary', 8, 4)) . "}"
--- response_body_filters eval
ForestT::json_like({ predictions => ForestT::predictions('xgb_binary', 'expected', 'proba', 8, 4) })
--- response_body: OK



=== TEST 3: a classifier without predict_proba answers class ids
--- request eval
"POST /predict/fraud\n{\"instances\": " . ForestT::rows_json(ForestT::input_rows('xgb_binary', 0, 20)) . "}"
--- response_body_filters eval
ForestT::json_like({ predictions => ForestT::predictions('xgb_binary', 'expected', 'class', 0, 20) })
--- response_body: OK



=== TEST 4: a location bound to one model (forest_predict NAME)
--- request eval
"POST /score\n{\"instances\": " . ForestT::rows_json(ForestT::input_rows('xgb_binary', 20, 5)) . "}"
--- response_body_filters eval
ForestT::json_like({ predictions => ForestT::predictions('xgb_binary', 'expected', 'class', 20, 5) })
--- response_body: OK



=== TEST 5: a bare row predicts one row
--- request eval
"POST /predict/fraudp\n" . substr(ForestT::rows_json(ForestT::input_rows('xgb_binary', 3, 1)), 1, -1)
--- response_body_filters eval
ForestT::json_like({ predictions => ForestT::predictions('xgb_binary', 'expected', 'proba', 3, 1) })
--- response_body: OK



=== TEST 6: null is a missing value (rows 1, 4, 9 have missing features)
--- request eval
"POST /predict/fraudp\n{\"instances\": " . ForestT::rows_json([map { @{ ForestT::input_rows('xgb_binary', $_, 1) } } 1, 4, 9]) . "}"
--- response_body_filters eval
ForestT::json_like({ predictions => [map { @{ ForestT::predictions('xgb_binary', 'expected', 'proba', $_, 1) } } 1, 4, 9] })
--- response_body: OK



=== TEST 7: object rows keyed by feature name; absent names are missing
--- request eval
"POST /predict/lgbp\n{\"instances\": " . ForestT::objects_json(ForestT::input_rows('lgb_binary', 0, 6)) . "}"
--- response_body_filters eval
ForestT::json_like({ predictions => ForestT::predictions('lgb_binary', 'expected', 'proba', 0, 6) })
--- response_body: OK



=== TEST 8: a single object predicts one row
--- request eval
"POST /predict/lgbp\n" . substr(ForestT::objects_json(ForestT::input_rows('lgb_binary', 2, 1)), 1, -1)
--- response_body_filters eval
ForestT::json_like({ predictions => ForestT::predictions('lgb_binary', 'expected', 'proba', 2, 1) })
--- response_body: OK



=== TEST 9: object keys in any order, explicit null
--- request eval
my $r = ForestT::input_rows('lgb_binary', 0, 1)->[0];
"POST /predict/lgbp\n{\"instances\": [{" . CORE::join(',', map { "\"f$_\":" . ForestT::num_text($r->[$_]) } CORE::reverse 0 .. $#$r) . "}]}"
--- response_body_filters eval
ForestT::json_like({ predictions => ForestT::predictions('lgb_binary', 'expected', 'proba', 0, 1) })
--- response_body: OK



=== TEST 10: multiclass probabilities
--- request eval
"POST /predict/multi\n{\"instances\": " . ForestT::rows_json(ForestT::input_rows('lgb_multiclass', 0, 10)) . "}"
--- response_body_filters eval
ForestT::json_like({ predictions => ForestT::predictions('lgb_multiclass', 'expected', 'proba', 0, 10) })
--- response_body: OK



=== TEST 11: regression values
--- request eval
"POST /predict/reg\n{\"instances\": " . ForestT::rows_json(ForestT::input_rows('xgb_reg', 0, 10)) . "}"
--- response_body_filters eval
ForestT::json_like({ predictions => ForestT::predictions('xgb_reg', 'expected', 'value', 0, 10) })
--- response_body: OK



=== TEST 12: margin query argument: raw scores before the link function
--- request eval
"POST /predict/fraudp?margin=1\n{\"instances\": " . ForestT::rows_json(ForestT::input_rows('xgb_binary', 0, 10)) . "}"
--- response_body_filters eval
ForestT::json_like({ predictions => ForestT::predictions('xgb_binary', 'margin', 'value', 0, 10) })
--- response_body: OK



=== TEST 13: margin of a multiclass model: one raw score per class
--- request eval
"POST /predict/multi?margin=1\n{\"instances\": " . ForestT::rows_json(ForestT::input_rows('lgb_multiclass', 0, 5)) . "}"
--- response_body_filters eval
ForestT::json_like({ predictions => ForestT::predictions('lgb_multiclass', 'margin', 'value', 0, 5) })
--- response_body: OK



=== TEST 14: unknown model: 404 naming it
--- request
POST /predict/nosuch
{"instances": [[1, 2, 3]]}
--- error_code: 404
--- response_body_filters eval
ForestT::json_like({ error => qr/nosuch/ })
--- response_body: OK



=== TEST 15: wrong feature count names the row and both counts
--- request eval
my $rows = ForestT::input_rows('xgb_binary', 0, 3);
pop @{ $rows->[1] };
"POST /predict/fraudp\n{\"instances\": " . ForestT::rows_json($rows) . "}"
--- error_code: 400
--- response_body_filters eval
ForestT::json_like({ error => qr/row 1 has 19 features, model fraudp expects 20/ })
--- response_body: OK



=== TEST 16: a non-numeric value
--- request
POST /predict/reg
{"instances": [[1, 2, 3, 4, 5, 6, 7, "eight", 9, 10]]}
--- error_code: 400
--- response_body_filters eval
ForestT::json_like({ error => qr/row 0, feature 7: .*not a number/ })
--- response_body: OK



=== TEST 17: invalid JSON
--- request
POST /predict/reg
{"instances": [[1, 2, 3,
--- error_code: 400
--- response_body_filters eval
ForestT::json_like({ error => qr/JSON|body ends/i })
--- response_body: OK



=== TEST 18: an unknown feature name
--- request
POST /predict/lgbp
{"instances": [{"f0": 1, "bogus": 2}]}
--- error_code: 400
--- response_body_filters eval
ForestT::json_like({ error => qr/row 0: model lgbp has no feature named "bogus"/ })
--- response_body: OK



=== TEST 19: object rows for a model without feature names
--- request
POST /predict/fraudp
{"instances": [{"f0": 1}]}
--- error_code: 400
--- response_body_filters eval
ForestT::json_like({ error => qr/model fraudp has no feature names/ })
--- response_body: OK



=== TEST 20: no rows
--- request
POST /predict/fraudp
{"instances": []}
--- error_code: 400
--- response_body_filters eval
ForestT::json_like({ error => qr/no rows/ })
--- response_body: OK



=== TEST 21: an object without instances/inputs is one row: unknown names fail
--- request
POST /predict/lgbp
{"rows": [[1]]}
--- error_code: 400
--- response_body_filters eval
ForestT::json_like({ error => qr/no feature named "rows"/ })
--- response_body: OK



=== TEST 22: more rows than forest_max_rows: 413
--- request eval
"POST /small\n{\"instances\": " . ForestT::rows_json(ForestT::input_rows('xgb_binary', 0, 5)) . "}"
--- error_code: 413
--- response_body_filters eval
ForestT::json_like({ error => qr/more than 4 rows/ })
--- response_body: OK



=== TEST 23: forest_max_rows rows exactly are fine
--- request eval
"POST /small\n{\"instances\": " . ForestT::rows_json(ForestT::input_rows('xgb_binary', 0, 4)) . "}"
--- response_body_filters eval
ForestT::json_like({ predictions => ForestT::predictions('xgb_binary', 'expected', 'proba', 0, 4) })
--- response_body: OK



=== TEST 24: over client_max_body_size: 413 as a JSON error
--- request eval
"POST /tiny\n{\"instances\": " . ForestT::rows_json(ForestT::input_rows('xgb_binary', 0, 20)) . "}"
--- error_code: 413
--- response_body_filters eval
ForestT::json_like({ error => qr/./ })
--- response_body: OK



=== TEST 25: GET is not allowed: 405
--- request
GET /predict/fraudp
--- error_code: 405
--- response_body_filters eval
ForestT::json_like({ error => qr/./ })
--- response_body: OK



=== TEST 26: repeated requests give the same answer (per-request buffers)
--- request eval
[map { "POST /predict/fraudp\n{\"instances\": " . ForestT::rows_json(ForestT::input_rows('xgb_binary', $_, 2)) . "}" } 0, 2, 4, 0]
--- response_body_filters eval
ForestT::per_request(map { ForestT::json_like({ predictions => ForestT::predictions('xgb_binary', 'expected', 'proba', $_, 2) }) } 0, 2, 4, 0)
--- response_body eval
[('OK') x 4]
