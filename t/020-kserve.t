# KServe v2 / Triton HTTP protocol under forest_kserve: server and model
# metadata, health and readiness, config, statistics, inference with JSON and
# binary tensors, requested outputs, the classification extension, errors.
use FindBin;
use lib "$FindBin::Bin/inc";
use ForestT;
use Test::Nginx::Socket 'no_plan';

our $HttpConfig = <<'_EOC_';
    forest_model fraud  $TEST_NGINX_SHARED/models/xgb_binary.json max_batch_size=256;
    forest_model fraudp $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on;
    forest_model fraudp $TEST_NGINX_SHARED/models/xgb_binary.ubj predict_proba=on version=2;
    forest_model multi  $TEST_NGINX_SHARED/models/lgb_multiclass.txt predict_proba=on;
    forest_model reg    $TEST_NGINX_SHARED/models/xgb_reg.json;
    forest_model small  $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on;
    forest_model tiny   $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on;
_EOC_

our $Config = <<'_EOC_';
    location /v2 { forest_kserve; }
    location /v2/models/small/ { forest_kserve; forest_max_rows 4; }
    location /v2/models/tiny/  { forest_kserve; client_max_body_size 1k; }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(http_config => $HttpConfig) if !defined $block->http_config;
    $block->set_value(config => $Config) if !defined $block->config;
});

sub infer_json { my ($model, @args) = @_; "POST /v2/models/$model/infer\n" . ForestT::kserve_json(@args) }

no_shuffle();
run_tests();

__DATA__

=== TEST 1: server metadata
--- request
GET /v2
--- response_headers_like
Content-Type: application/json.*
--- response_body_filters eval
ForestT::json_like({ name => qr/./, version => qr/./,
    extensions => ForestT::contains('classification', 'binary_tensor_data', 'statistics', 'model_configuration') })
--- response_body: OK



=== TEST 2: liveness and readiness
--- request eval
["GET /v2/health/live", "GET /v2/health/ready"]
--- error_code eval
[200, 200]



=== TEST 3: model metadata (probabilities: [-1, 2])
--- request
GET /v2/models/fraudp
--- response_body_filters eval
ForestT::json_like({ name => 'fraudp', versions => ForestT::contains(ForestT::jstring('1'), ForestT::jstring('2')),
    inputs => [{ name => 'input__0', datatype => 'FP32', shape => [-1, 20] }],
    outputs => [{ name => 'output__0', datatype => 'FP32', shape => [-1, 2] }] })
--- response_body: OK



=== TEST 4: model metadata of a class-output model and of a multiclass one
--- request eval
["GET /v2/models/fraud", "GET /v2/models/multi", "GET /v2/models/reg"]
--- response_body_filters eval
ForestT::per_request(ForestT::json_like({ name => 'fraud', inputs => [{ name => 'input__0', datatype => 'FP32', shape => [-1, 20] }],
     outputs => [{ name => 'output__0', datatype => 'FP32', shape => [-1, 1] }] }),
 ForestT::json_like({ name => 'multi', inputs => [{ name => 'input__0', datatype => 'FP32', shape => [-1, 10] }],
     outputs => [{ name => 'output__0', datatype => 'FP32', shape => [-1, 3] }] }),
 ForestT::json_like({ name => 'reg', inputs => [{ name => 'input__0', datatype => 'FP32', shape => [-1, 10] }],
     outputs => [{ name => 'output__0', datatype => 'FP32', shape => [-1, 1] }] }))
--- response_body eval
[('OK') x 3]



=== TEST 5: metadata of a given version
--- request eval
["GET /v2/models/fraudp/versions/2", "GET /v2/models/fraudp/versions/1"]
--- response_body_filters eval
ForestT::json_like({ name => 'fraudp', inputs => [{ name => 'input__0', datatype => 'FP32', shape => [-1, 20] }] })
--- response_body eval
[('OK') x 2]



=== TEST 6: model readiness, with and without version
--- request eval
["GET /v2/models/fraudp/ready", "GET /v2/models/fraudp/versions/1/ready",
 "GET /v2/models/fraudp/versions/2/ready", "GET /v2/models/reg/ready"]
--- error_code eval
[200, 200, 200, 200]



=== TEST 7: unknown model or version: 404 with a KServe error
--- request eval
["GET /v2/models/nosuch", "GET /v2/models/nosuch/ready", "GET /v2/models/fraudp/versions/3",
 "GET /v2/models/fraudp/versions/3/ready", "POST /v2/models/nosuch/infer\n{}",
 "POST /v2/models/fraudp/versions/9/infer\n{}", "GET /v2/nothing/here"]
--- error_code eval
[(404) x 7]
--- response_body_filters eval
ForestT::per_request(ForestT::json_like({ error => qr/nosuch/ }), ForestT::json_like({ error => qr/nosuch/ }),
 ForestT::json_like({ error => qr/version/ }), ForestT::json_like({ error => qr/version/ }),
 ForestT::json_like({ error => qr/nosuch/ }), ForestT::json_like({ error => qr/version/ }),
 ForestT::json_like({ error => qr/./ }))
--- response_body eval
[('OK') x 7]



=== TEST 8: model configuration (Triton's model_configuration)
--- request eval
["GET /v2/models/fraud/config", "GET /v2/models/multi/config"]
--- response_body_filters eval
ForestT::per_request(ForestT::json_like({ name => 'fraud', max_batch_size => 256,
    input => [{ name => 'input__0', data_type => 'TYPE_FP32', dims => [20] }],
    output => [{ name => 'output__0', data_type => 'TYPE_FP32', dims => [1] }] }),
 ForestT::json_like({ name => 'multi',
    input => [{ name => 'input__0', data_type => 'TYPE_FP32', dims => [10] }],
    output => [{ name => 'output__0', data_type => 'TYPE_FP32', dims => [3] }] }))
--- response_body eval
[('OK') x 2]



=== TEST 9: statistics count requests and rows
--- request eval
[main::infer_json('reg', ForestT::input_rows('xgb_reg', 0, 2)),
 main::infer_json('reg', ForestT::input_rows('xgb_reg', 2, 3)),
 "GET /v2/models/reg/stats", "GET /v2/models/stats"]
--- response_body_filters eval
ForestT::per_request(sub { 'OK' }, sub { 'OK' },
 (ForestT::json_like({ model_stats => ForestT::contains({ name => 'reg', version => '1',
     inference_count => 5, execution_count => 2,
     inference_stats => { success => { count => 2, ns => ForestT::any_value() },
                          fail => { count => 0 } } }) })) x 2)
--- response_body eval
[('OK') x 4]



=== TEST 10: infer, JSON, nested data, probabilities [N, 2]; no version: the latest
--- request eval
main::infer_json('fraudp', ForestT::input_rows('xgb_binary', 0, 16))
--- response_headers_like
Content-Type: application/json.*
--- response_body_filters eval
ForestT::json_like({ model_name => 'fraudp', model_version => ForestT::jstring('2'),
    id => ForestT::absent(),
    outputs => [ForestT::kserve_output('xgb_binary', 'expected', 'proba', 0, 16)] })
--- response_body: OK
--- no_error_log
[error]
[warn]



=== TEST 11: infer, JSON, flat data; class ids [N, 1]
--- request eval
main::infer_json('fraud', ForestT::input_rows('xgb_binary', 0, 16), flat => 1)
--- response_body_filters eval
ForestT::json_like({ model_name => 'fraud', outputs => [ForestT::kserve_output('xgb_binary', 'expected', 'class', 0, 16)] })
--- response_body: OK



=== TEST 12: infer a given version; "id" is echoed
--- request eval
"POST /v2/models/fraudp/versions/2/infer\n" . ForestT::kserve_json(ForestT::input_rows('xgb_binary', 5, 3), id => 'req-42')
--- response_body_filters eval
ForestT::json_like({ model_name => 'fraudp', model_version => ForestT::jstring('2'), id => 'req-42',
    outputs => [ForestT::kserve_output('xgb_binary', 'expected', 'proba', 5, 3)] })
--- response_body: OK



=== TEST 13: multiclass and regression outputs
--- request eval
[main::infer_json('multi', ForestT::input_rows('lgb_multiclass', 0, 12)),
 main::infer_json('reg', ForestT::input_rows('xgb_reg', 0, 12))]
--- response_body_filters eval
ForestT::per_request(ForestT::json_like({ outputs => [ForestT::kserve_output('lgb_multiclass', 'expected', 'proba', 0, 12)] }),
 ForestT::json_like({ outputs => [ForestT::kserve_output('xgb_reg', 'expected', 'value', 0, 12)] }))
--- response_body eval
[('OK') x 2]



=== TEST 14: null in JSON data is a missing value
--- request eval
main::infer_json('fraudp', [map { @{ ForestT::input_rows('xgb_binary', $_, 1) } } 1, 4, 9, 11, 13])
--- response_body_filters eval
ForestT::json_like({ outputs => [{ shape => [5, 2], data => [map { @{ ForestT::kserve_output('xgb_binary', 'expected', 'proba', $_, 1)->{data} } } 1, 4, 9, 11, 13] }] })
--- response_body: OK



=== TEST 15: requested outputs are honoured
--- request eval
main::infer_json('fraudp', ForestT::input_rows('xgb_binary', 0, 4), outputs => '[{"name":"output__0"}]')
--- response_body_filters eval
ForestT::json_like({ outputs => [ForestT::kserve_output('xgb_binary', 'expected', 'proba', 0, 4)] })
--- response_body: OK



=== TEST 16: an unknown requested output: 400
--- request eval
main::infer_json('fraudp', ForestT::input_rows('xgb_binary', 0, 1), outputs => '[{"name":"output__7"}]')
--- error_code: 400
--- response_body_filters eval
ForestT::json_like({ error => qr/output__7/ })
--- response_body: OK



=== TEST 17: classification extension: top-k "value:index" strings
--- request eval
[main::infer_json('multi', ForestT::input_rows('lgb_multiclass', 0, 6), outputs => '[{"name":"output__0","parameters":{"classification":2}}]'),
 main::infer_json('fraudp', ForestT::input_rows('xgb_binary', 0, 6), outputs => '[{"name":"output__0","parameters":{"classification":1}}]')]
--- response_body_filters eval
ForestT::per_request(ForestT::classification_like('lgb_multiclass', 0, 6, 2), ForestT::classification_like('xgb_binary', 0, 6, 1))
--- response_body eval
[('OK') x 2]



=== TEST 18: binary tensor input, JSON output
--- raw_request eval
my ($body, $len) = ForestT::kserve_binary(ForestT::input_rows('xgb_binary', 0, 20));
ForestT::http_request('POST', '/v2/models/fraudp/infer', $body, "Inference-Header-Content-Length: $len")
--- response_body_filters eval
ForestT::json_like({ outputs => [ForestT::kserve_output('xgb_binary', 'expected', 'proba', 0, 20)] })
--- response_body: OK



=== TEST 19: binary tensor input and output (missing values as NaN)
--- raw_request eval
my ($body, $len) = ForestT::kserve_binary(ForestT::input_rows('xgb_binary', 0, 20), binary_output => 1, id => 'b1');
ForestT::http_request('POST', '/v2/models/fraudp/infer', $body, "Inference-Header-Content-Length: $len")
--- response_headers_like
Inference-Header-Content-Length: \d+
--- response_body_filters eval
ForestT::binary_like({ id => 'b1', outputs => [{ name => 'output__0', datatype => 'FP32', shape => [20, 2],
    parameters => { binary_data_size => 160 } }] },
    ForestT::kserve_output('xgb_binary', 'expected', 'proba', 0, 20)->{data})
--- response_body: OK



=== TEST 20: binary_data_output request parameter
--- raw_request eval
my ($body, $len) = ForestT::kserve_binary(ForestT::input_rows('xgb_reg', 0, 8));
my $param = ',"parameters":{"binary_data_output":true}';
substr($body, $len - 1, 0) = $param;
ForestT::http_request('POST', '/v2/models/reg/infer', $body, "Inference-Header-Content-Length: " . ($len + length $param))
--- response_headers_like
Inference-Header-Content-Length: \d+
--- response_body_filters eval
ForestT::binary_like({ outputs => [{ name => 'output__0', shape => [8, 1]}] },
    ForestT::kserve_output('xgb_reg', 'expected', 'value', 0, 8)->{data})
--- response_body: OK



=== TEST 21: FP64 binary input is converted
--- raw_request eval
my ($body, $len) = ForestT::kserve_binary(ForestT::input_rows('xgb_binary', 0, 10), datatype => 'FP64');
ForestT::http_request('POST', '/v2/models/fraudp/infer', $body, "Inference-Header-Content-Length: $len")
--- response_body_filters eval
ForestT::json_like({ outputs => [ForestT::kserve_output('xgb_binary', 'expected', 'proba', 0, 10)] })
--- response_body: OK



=== TEST 22: FP64 and INT64 JSON inputs are converted
--- request eval
my $ints = [[map { int } 1 .. 10], [map { -3 * $_ } 1 .. 10]];
[main::infer_json('reg', ForestT::input_rows('xgb_reg', 0, 6), datatype => 'FP64'),
 main::infer_json('reg', $ints, datatype => 'FP32'),
 main::infer_json('reg', $ints, datatype => 'INT64'),
 main::infer_json('reg', $ints, datatype => 'INT32')]
--- response_body_filters eval
ForestT::per_request(ForestT::json_like({ outputs => [ForestT::kserve_output('xgb_reg', 'expected', 'value', 0, 6)] }),
 ForestT::remember('ints'), ForestT::same_as('ints'), ForestT::same_as('ints'))
--- response_body eval
[('OK') x 4]



=== TEST 23: invalid JSON: 400
--- request
POST /v2/models/fraudp/infer
{"inputs": [{"name": "input__0", "shape": [1, 20], "datatype": "FP32", "data": [1, 2
--- error_code: 400
--- response_body_filters eval
ForestT::json_like({ error => qr/./ })
--- response_body: OK



=== TEST 24: data does not fill the shape: 400
--- request eval
my $body = ForestT::kserve_json(ForestT::input_rows('xgb_binary', 0, 3));
$body =~ s/"shape":\[3,/"shape":[4,/;
"POST /v2/models/fraudp/infer\n$body"
--- error_code: 400
--- response_body_filters eval
ForestT::json_like({ error => qr/shape|data|elements|values/ })
--- response_body: OK



=== TEST 25: wrong feature count: 400 naming both counts
--- request eval
main::infer_json('fraudp', [[(1) x 19], [(1) x 19]])
--- error_code: 400
--- response_body_filters eval
ForestT::json_like({ error => qr/19.*\b20\b/ })
--- response_body: OK



=== TEST 26: a non-numeric value: 400
--- request
POST /v2/models/reg/infer
{"inputs": [{"name": "input__0", "shape": [1, 10], "datatype": "FP32", "data": [1, 2, 3, "x", 5, 6, 7, 8, 9, 10]}]}
--- error_code: 400
--- response_body_filters eval
ForestT::json_like({ error => qr/number|numeric/ })
--- response_body: OK



=== TEST 27: an unknown input name: 400 naming it
--- request eval
main::infer_json('reg', ForestT::input_rows('xgb_reg', 0, 1), input_name => 'features')
--- error_code: 400
--- response_body_filters eval
ForestT::json_like({ error => qr/features/ })
--- response_body: OK



=== TEST 28: an unsupported datatype: 400
--- request eval
main::infer_json('reg', ForestT::input_rows('xgb_reg', 0, 1), datatype => 'BYTES')
--- error_code: 400
--- response_body_filters eval
ForestT::json_like({ error => qr/BYTES/ })
--- response_body: OK



=== TEST 29: binary_data_size larger than the body: 400
--- raw_request eval
my ($body, $len) = ForestT::kserve_binary(ForestT::input_rows('xgb_binary', 0, 2));
ForestT::http_request('POST', '/v2/models/fraudp/infer', substr($body, 0, -8), "Inference-Header-Content-Length: $len")
--- error_code: 400
--- response_body_filters eval
ForestT::json_like({ error => qr/binary_data_size|bytes/ })
--- response_body: OK



=== TEST 30: wrong methods: 405 with Allow
--- request eval
["GET /v2/models/fraudp/infer", "POST /v2/models/fraudp\n{}", "DELETE /v2/health/live"]
--- error_code eval
[405, 405, 405]
--- response_headers_like eval
["Allow: .*POST.*", "Allow: .*GET.*", "Allow: .*GET.*"]
--- response_body_filters eval
ForestT::json_like({ error => qr/./ })
--- response_body eval
[('OK') x 3]



=== TEST 31: more rows than forest_max_rows: 413
--- request eval
[main::infer_json('small', ForestT::input_rows('xgb_binary', 0, 5)),
 main::infer_json('small', ForestT::input_rows('xgb_binary', 0, 4))]
--- error_code eval
[413, 200]
--- response_body_filters eval
ForestT::per_request(ForestT::json_like({ error => qr/\b5 rows.*\b4\b|more than 4 rows/ }),
 ForestT::json_like({ outputs => [ForestT::kserve_output('xgb_binary', 'expected', 'proba', 0, 4)] }))
--- response_body eval
[('OK') x 2]



=== TEST 32: over client_max_body_size: 413 with a KServe error
--- request eval
main::infer_json('tiny', ForestT::input_rows('xgb_binary', 0, 30))
--- error_code: 413
--- response_body_filters eval
ForestT::json_like({ error => qr/./ })
--- response_body: OK



=== TEST 33: a client error is logged once, at info
--- request eval
main::infer_json('reg', [[(1) x 3]])
--- error_code: 400
--- grep_error_log eval
qr/model reg expects 10 features/
--- grep_error_log_out
model reg expects 10 features
--- no_error_log
[error]
[warn]



=== TEST 34: a success logs nothing
--- request eval
main::infer_json('reg', ForestT::input_rows('xgb_reg', 0, 1))
--- no_error_log
forest
[error]
[warn]



=== TEST 35: margin query argument on infer
--- request eval
"POST /v2/models/multi/infer?margin=1\n" . ForestT::kserve_json(ForestT::input_rows('lgb_multiclass', 0, 6))
--- response_body_filters eval
ForestT::json_like({ outputs => [ForestT::kserve_output('lgb_multiclass', 'margin', 'value', 0, 6)] })
--- response_body: OK
