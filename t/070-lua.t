# LuaJIT pre/post hooks (forest_lua_pre, forest_lua_post): served values
# against the libraries' own outputs through identity, feature-engineering
# and response-shaping hooks; runtime errors, runaway hooks, wrong shapes,
# scripts that do not load; and lua-nginx-module in the same nginx.
use FindBin;
use lib "$FindBin::Bin/inc";
use ForestT;
use Test::Nginx::Socket 'no_plan';

# A transaction per row of xgb_cat's reference input, in the terms of
# lua/examples/fraud_pre.lua: f0/f1 as strings, f2 as amount (per item),
# f3 as log(balance); a missing value is an absent field.
sub tx_json {
    my ($rows, %opt) = @_;
    my @channel = qw(web app store);
    my @tx;
    for my $r (@$rows) {
        my @f;
        push @f, "\"channel\":\"$channel[$r->[0]]\"" if defined $r->[0];
        push @f, sprintf('"merchant":"m%02d"', $r->[1]) if defined $r->[1];
        if (defined $r->[2]) {
            push @f, $opt{items} ? sprintf('"amount":%.17g,"items":4', 4 * $r->[2])
                                 : sprintf('"amount":%.17g', $r->[2]);
        }
        push @f, sprintf('"balance":%.17g', exp($r->[3])) if defined $r->[3];
        push @f, map { "\"f$_\":" . ForestT::num_text($r->[$_]) } grep { defined $r->[$_] } 4 .. 7;
        push @tx, '{' . join(',', @f) . '}';
    }
    return '{"transactions":[' . join(',', @tx) . ']}';
}

# Expected fraud_post.lua answer for a binary model's reference rows.
sub decisions {
    my ($model, $from, $n, $threshold, %extra) = @_;
    my $p = ForestT::expected_rows($model, 'expected', $from, $n);
    return { %extra, threshold => $threshold, results => [map { {
        label => $_->[0] > 0.5 ? 'fraud' : 'legit',
        fraud_probability => $_->[0],
        decision => $_->[0] > $threshold ? 'review' : 'accept',
    } } @$p] };
}

# Expected topk_post.lua answer: the k most probable classes by label.
sub top_k {
    my ($model, $from, $n, $k) = @_;
    my @labels = qw(setosa versicolor virginica);
    my $p = ForestT::expected_rows($model, 'expected', $from, $n);
    return { predictions => [map {
        my $r = $_;
        my @order = sort { $r->[$b] <=> $r->[$a] || $a <=> $b } 0 .. $#$r;
        [map { { label => $labels[$_], probability => $r->[$_] } } @order[0 .. $k - 1]]
    } @$p] };
}

our $HttpConfig = <<'_EOC_';
    forest_model fraud  $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on;
    forest_model fraudc $TEST_NGINX_SHARED/models/xgb_binary.json;
    forest_model cat    $TEST_NGINX_SHARED/models/xgb_cat.json predict_proba=on;
    forest_model multi  $TEST_NGINX_SHARED/models/lgb_multiclass.txt predict_proba=on;
    forest_model iris   $TEST_NGINX_FOREST_ROOT/models/iris.txt predict_proba=on;
    forest_model xmc    $TEST_NGINX_SHARED/models/xgb_multiclass.json predict_proba=on;
    forest_lua_package_path "$TEST_NGINX_FOREST_ROOT/lua/examples/?.lua;;";
    forest_lua_budget 1000000;
    forest_lua_memory 16m;
_EOC_

our $Config = <<'_EOC_';
    location = /id        { forest_predict fraud;  forest_lua_pre $TEST_NGINX_FOREST_ROOT/t/lua/identity.lua; }
    location /v2/         { forest_kserve;         forest_lua_pre $TEST_NGINX_FOREST_ROOT/t/lua/identity.lua; }
    location = /tx        { forest_predict cat;    forest_lua_pre $TEST_NGINX_FOREST_ROOT/lua/examples/fraud_pre.lua; }
    location = /tx/decide { forest_predict cat;    forest_lua_pre $TEST_NGINX_FOREST_ROOT/lua/examples/fraud_pre.lua;
                                                   forest_lua_post $TEST_NGINX_FOREST_ROOT/lua/examples/fraud_post.lua; }
    location = /decide    { forest_predict fraud;  forest_lua_post $TEST_NGINX_FOREST_ROOT/lua/examples/fraud_post.lua; }
    location = /topk      { forest_predict multi;  forest_lua_post $TEST_NGINX_FOREST_ROOT/lua/examples/topk_post.lua; }
    location = /iris/top2 { forest_predict iris;   forest_lua_pre $TEST_NGINX_FOREST_ROOT/lua/examples/iris_pre.lua;
                                                   forest_lua_post $TEST_NGINX_FOREST_ROOT/lua/examples/topk_post.lua; }
    location = /labels    { forest_predict fraudc; forest_lua_post $TEST_NGINX_FOREST_ROOT/t/lua/labels_post.lua; }
    location = /echo      { forest_predict fraudc; forest_lua_post $TEST_NGINX_FOREST_ROOT/t/lua/shapes.lua; }
    location = /error     { forest_predict fraud;  forest_lua_pre $TEST_NGINX_FOREST_ROOT/t/lua/error.lua; }
    location = /post-error { forest_predict fraud; forest_lua_post $TEST_NGINX_FOREST_ROOT/t/lua/error_post.lua; }
    location = /loop      { forest_predict fraud;  forest_lua_pre $TEST_NGINX_FOREST_ROOT/t/lua/loop.lua; }
    location = /hog       { forest_predict fraud;  forest_lua_pre $TEST_NGINX_FOREST_ROOT/t/lua/hog.lua; }
    location = /margin    { forest_predict fraud;  forest_lua_pre $TEST_NGINX_FOREST_ROOT/t/lua/margin.lua; }
    location = /margin/mc { forest_predict xmc;    forest_lua_pre $TEST_NGINX_FOREST_ROOT/t/lua/margin.lua; }
    location = /shapes    { forest_predict cat;    forest_max_rows 4;
                            forest_lua_pre $TEST_NGINX_FOREST_ROOT/t/lua/shapes.lua;
                            forest_lua_post $TEST_NGINX_FOREST_ROOT/t/lua/shapes.lua; }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(http_config => $HttpConfig) if !defined $block->http_config;
    $block->set_value(config => $Config) if !defined $block->config;
});

# hooks are loaded per worker at its start: test them in real workers
master_on();
workers(2);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: an identity pre hook serves what the library predicts (simple API)
--- request eval
"POST /id\n{\"rows\": " . ForestT::rows_json(ForestT::input_rows('xgb_binary', 0, 40)) . "}"
--- response_body_filters eval
ForestT::json_like({ predictions => ForestT::predictions('xgb_binary', 'expected', 'proba', 0, 40) })
--- response_body: OK
--- no_error_log
[error]
[alert]



=== TEST 2: an identity pre hook under forest_kserve answers a KServe response
--- request eval
"POST /v2/models/fraud/infer\n{\"rows\": " . ForestT::rows_json(ForestT::input_rows('xgb_binary', 40, 8)) . "}"
--- response_body_filters eval
ForestT::json_like({ model_name => 'fraud', model_version => '1',
                     outputs => [ForestT::kserve_output('xgb_binary', 'expected', 'proba', 40, 8)] })
--- response_body: OK



=== TEST 3: a pre hook under forest_kserve: the request's id is echoed
--- request eval
"POST /v2/models/fraud/infer\n{\"id\": \"req-\\\"7\\\"\", \"rows\": " . ForestT::rows_json(ForestT::input_rows('xgb_binary', 40, 2)) . "}"
--- response_body_filters eval
ForestT::json_like({ id => 'req-"7"', model_name => 'fraud', model_version => '1',
                     outputs => [ForestT::kserve_output('xgb_binary', 'expected', 'proba', 40, 2)] })
--- response_body: OK



=== TEST 4: a pre hook under forest_kserve: requested outputs as without a hook (classification, binary output)
--- request eval
["POST /v2/models/fraud/infer\n{\"rows\": " . ForestT::rows_json(ForestT::input_rows('xgb_binary', 0, 6)) . ", \"outputs\": [{\"name\": \"output__0\", \"parameters\": {\"classification\": 1}}]}",
 "POST /v2/models/fraud/infer\n{\"rows\": " . ForestT::rows_json(ForestT::input_rows('xgb_binary', 0, 3)) . ", \"parameters\": {\"binary_data_output\": true}}"]
--- response_headers_like eval
["Content-Type: application/json", "Inference-Header-Content-Length: \\d+"]
--- response_body_filters eval
ForestT::per_request(ForestT::classification_like('xgb_binary', 0, 6, 1),
 ForestT::binary_like({ outputs => [{ name => 'output__0', shape => [3, 2]}] },
     ForestT::kserve_output('xgb_binary', 'expected', 'proba', 0, 3)->{data}))
--- response_body eval
[('OK') x 2]



=== TEST 5: a pre hook under forest_kserve: an unknown output is a 400, as without a hook
--- request eval
"POST /v2/models/fraud/infer\n{\"rows\": [[1]], \"outputs\": [{\"name\": \"probabilities\"}]}"
--- error_code: 400
--- response_body_filters eval
ForestT::json_like({ error => qr/^unknown output "probabilities": model fraud answers output__0, treeshap_output, leaf_index/ })
--- response_body: OK



=== TEST 6: named features, string categories to category codes, log(balance), per-item amount
--- request eval
"POST /tx\n" . main::tx_json(ForestT::input_rows('xgb_cat', 0, 60), items => 1)
--- response_body_filters eval
ForestT::json_like({ predictions => ForestT::predictions('xgb_cat', 'expected', 'proba', 0, 60) })
--- response_body: OK
--- no_error_log
[error]



=== TEST 7: an absent items count defaults to 1; absent fields are missing values
--- request eval
"POST /tx\n" . main::tx_json(ForestT::input_rows('xgb_cat', 60, 60))
--- response_body_filters eval
ForestT::json_like({ predictions => ForestT::predictions('xgb_cat', 'expected', 'proba', 60, 60) })
--- response_body: OK



=== TEST 8: the pre hook rejects a request with its own status and message
--- request eval
["POST /tx\n{\"channel\": \"web\", \"amount\": 10, \"items\": 0}",
 "POST /tx\n{\"transactions\": [{\"channel\": \"web\"}, {\"channel\": \"fax\"}]}",
 "POST /tx\n[1, 2]"]
--- error_code eval
[422, 422, 400]
--- response_body eval
['{"error":"transaction 1: items must be positive"}',
 '{"error":"transaction 2: unknown channel \"fax\""}',
 '{"error":"want a JSON object: a transaction or {\"transactions\": [...]}"}']
--- no_error_log
[error]



=== TEST 9: invalid JSON for a pre hook is a 400
--- request eval
"POST /tx\n{\"channel\": "
--- error_code: 400
--- response_body_like eval
qr/^\{"error":"invalid JSON body: parse error: premature EOF/



=== TEST 10: binary tensor data cannot go to a pre hook
--- raw_request eval
my ($body, $json_len) = ForestT::kserve_binary(ForestT::input_rows('xgb_binary', 0, 1));
ForestT::http_request('POST', '/v2/models/fraud/infer', $body,
                      "Inference-Header-Content-Length: $json_len")
--- error_code: 400
--- response_body_like eval
qr/^\{"error":"binary tensor data cannot go through a lua pre hook: send JSON"\}$/



=== TEST 11: pre and post together: labels, a threshold decision, extra fields
--- request eval
"POST /tx/decide?threshold=0.7\n" . main::tx_json(ForestT::input_rows('xgb_cat', 0, 30), items => 1)
--- more_headers
X-Request-Id: req-42
--- response_body_filters eval
ForestT::json_like(main::decisions('xgb_cat', 0, 30, 0.7, model => 'cat/1', request_id => 'req-42'))
--- response_body: OK



=== TEST 12: a post hook alone: the codec reads the rows, post shapes the answer
--- request eval
"POST /decide\n{\"instances\": " . ForestT::rows_json(ForestT::input_rows('xgb_binary', 0, 25)) . "}"
--- response_body_filters eval
ForestT::json_like(main::decisions('xgb_binary', 0, 25, 0.5, model => 'fraud/1',
                                   request_id => ForestT::absent()))
--- response_body: OK



=== TEST 13: top-k classes of a multiclass model by label
--- request eval
"POST /topk?k=2\n{\"instances\": " . ForestT::rows_json(ForestT::input_rows('lgb_multiclass', 0, 30)) . "}"
--- response_body_filters eval
ForestT::json_like(main::top_k('lgb_multiclass', 0, 30, 2))
--- response_body: OK



=== TEST 14: the demo's iris hooks: flowers in mm by feature name, top 2 species by label
--- request eval
my $rows = ForestT::input_rows('iris', 0, 150);
my @names = qw(sepal_length sepal_width petal_length petal_width);
"POST /iris/top2?k=2\n{\"flowers\": [" . CORE::join(',', map {
    my $r = $_;
    '{"unit":"mm",' . CORE::join(',', map { sprintf('"%s":%.17g', $names[$_], 10 * $r->[$_]) } 0 .. 3) . '}'
} @$rows) . "]}"
--- response_body_filters eval
ForestT::json_like(main::top_k('iris', 0, 150, 2))
--- response_body: OK



=== TEST 15: class ids (no predict_proba) become labels
--- request eval
"POST /labels\n{\"instances\": " . ForestT::rows_json(ForestT::input_rows('xgb_binary', 0, 30)) . "}"
--- response_body_filters eval
ForestT::json_like({ labels => [map { $_ ? 'fraud' : 'legit' }
                                @{ ForestT::predictions('xgb_binary', 'expected', 'class', 0, 30) }] })
--- response_body: OK



=== TEST 16: no rows from pre: post gets an empty out
--- request
POST /shapes?case=empty
{}
--- response_body: {"out":[]}



=== TEST 17: a runtime error in pre: 500, one error-log line with the file and line
--- request
POST /error
{"x": 1}
--- error_code: 500
--- response_body_like eval
qr/^\{"error":"pre hook: \S+\/t\/lua\/error\.lua:4: attempt to index local 'user' \(a nil value\)"\}$/
--- grep_error_log eval
qr/\[error\].*forest: 500 pre hook: \S+\/t\/lua\/error\.lua:4: attempt to index/
--- grep_error_log_out eval
qr/^[^\n]+\n$/



=== TEST 18: after a runtime error in pre the worker goes on serving
--- request eval
["POST /error\n{\"x\": 1}", "POST /id\n{\"rows\": [[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]]}"]
--- error_code eval
[500, 200]
--- response_body_like eval
[qr/^\{"error":"pre hook: /, qr/^\{"predictions":\[\[/]



=== TEST 19: a runtime error in post: 500 and the file and line
--- request eval
"POST /post-error\n{\"instances\": " . ForestT::rows_json(ForestT::input_rows('xgb_binary', 0, 1)) . "}"
--- error_code: 500
--- response_body_like eval
qr/^\{"error":"post hook: \S+\/t\/lua\/error_post\.lua:4: attempt to perform arithmetic on local 'label'/
--- error_log eval
qr/\[error\].*forest: 500 post hook: \S+\/t\/lua\/error_post\.lua:4: /



=== TEST 20: an endless loop exhausts the budget: 500, and the worker goes on serving
--- request eval
["POST /loop\n{}", "POST /loop\n{}",
 "POST /id\n{\"rows\": " . ForestT::rows_json(ForestT::input_rows('xgb_binary', 5, 1)) . "}"]
--- error_code eval
[500, 500, 200]
--- response_body_filters eval
ForestT::per_request(sub { $_[0] =~ m{^\{"error":"pre hook: \S+/t/lua/loop\.lua:\d+: exceeded its budget of 1000000 instructions"\}$} ? 'OK' : $_[0] },
 sub { $_[0] =~ /exceeded its budget/ ? 'OK' : $_[0] },
 ForestT::json_like({ predictions => ForestT::predictions('xgb_binary', 'expected', 'proba', 5, 1) }))
--- response_body eval
['OK', 'OK', 'OK']
--- timeout: 10



=== TEST 21: every endless loop stopped is logged
--- request eval
["POST /loop\n{}", "POST /loop\n{}"]
--- error_code eval
[500, 500]
--- timeout: 10
--- error_log
exceeded its budget of 1000000 instructions



=== TEST 22: a hook whose memory grows without end: 500, and the worker goes on serving
--- request eval
["POST /hog\n{}", "POST /hog\n{}",
 "POST /id\n{\"rows\": " . ForestT::rows_json(ForestT::input_rows('xgb_binary', 6, 1)) . "}"]
--- error_code eval
[500, 500, 200]
--- response_body_filters eval
ForestT::per_request(sub { $_[0] eq '{"error":"pre hook: ran out of memory (the Lua state may use 16777216 bytes)"}' ? 'OK' : $_[0] },
 sub { $_[0] =~ /ran out of memory/ ? 'OK' : $_[0] },
 ForestT::json_like({ predictions => ForestT::predictions('xgb_binary', 'expected', 'proba', 6, 1) }))
--- response_body eval
['OK', 'OK', 'OK']
--- timeout: 10



=== TEST 23: a pre hook returning wrong shapes or types: a 500 naming the row and the feature
--- request eval
[map { "POST /shapes?case=$_\n{}" } qw(string count number name boolean status nothing flat many range reject ok)]
--- error_code eval
[500, 500, 500, 500, 500, 500, 500, 500, 413, 500, 429, 200]
--- response_body eval
['{"error":"pre hook result: rows[1].f0 is a string (\"red\"), want a number (0/0 or forest.null for a missing value)"}',
 '{"error":"pre hook result: rows[1] has 3 values, model cat expects 8 features (a missing value is 0/0 or forest.null, not nil)"}',
 '{"error":"pre hook returned a number, want an array of rows (or nil, status, message)"}',
 '{"error":"pre hook result: rows[1].colour: model cat has no feature of that name"}',
 '{"error":"pre hook result: rows[1][8] (f7) is a boolean (true), want a number (0/0 or forest.null for a missing value)"}',
 '{"error":"pre hook rejected the request with the status 200, want a number from 400 to 599"}',
 '{"error":"pre hook returned nil, want an array of rows (or nil, status, message)"}',
 '{"error":"pre hook result: rows[1] is a number, want a table: an array of 8 numbers or a table keyed by feature name"}',
 '{"error":"the pre hook made 5 rows, more than the 4 allowed here"}',
 '{"error":"pre hook result: rows[1].f2 is 1e+300, beyond the float32 range"}',
 '{"error":"slow down"}',
 qr/^\{"out":\[\[[0-9.e-]+,[0-9.e-]+\]\]\}$/]



=== TEST 24: a post hook returning what JSON cannot carry: a 500 naming the place
--- request eval
[map { "POST /shapes?case=ok&post=$_\n{}" } qw(function mixed cycle holes)]
--- error_code eval
[500, 500, 500, 500]
--- response_body eval
['{"error":"post hook result.f: a function has no JSON form"}',
 '{"error":"post hook result: a table with both array items and named keys"}',
 qr/^\{"error":"post hook result(\.self)+\.?s?e?l?f?: tables nested deeper than 64 levels \(a table that contains itself\?\)"\}$/,
 '{"error":"post hook result: an array with holes (nil items; use forest.null)"}']



=== TEST 25: a script with a syntax error fails the configuration test, naming file and line
--- user_files
>>> syntax.lua
return function(req)
    local x = = 1
end
--- config
    location = /x { forest_predict fraud; forest_lua_pre $TEST_NGINX_SERVER_ROOT/html/syntax.lua; }
--- must_die
--- error_log eval
qr/\[emerg\].*forest lua hook "\S+\/html\/syntax\.lua" \(named in \S+nginx\.conf:\d+\) does not load: \S+\/html\/syntax\.lua:2: unexpected symbol near '='/



=== TEST 26: a script that does not return a function fails the configuration test
--- user_files
>>> value.lua
return { rows = {} }
--- config
    location = /x { forest_predict fraud; forest_lua_post $TEST_NGINX_SERVER_ROOT/html/value.lua; }
--- must_die
--- error_log eval
qr/\[emerg\].*value\.lua returned a table, want a function/



=== TEST 27: a missing script fails the configuration test
--- config
    location = /x { forest_predict fraud; forest_lua_pre $TEST_NGINX_SERVER_ROOT/html/nowhere.lua; }
--- must_die
--- error_log eval
qr/\[emerg\].*does not load: cannot open \S+\/html\/nowhere\.lua/



=== TEST 28: a script that loads at the configuration test but fails in the worker: alert, then 500
--- user_files
>>> worker.lua
-- nginx clears the workers' environment: this loads in the master only
assert(os.getenv("HOME"), "no HOME in this process")
return function(req) return {} end
--- config
    location = /x { forest_predict fraud; forest_lua_pre $TEST_NGINX_SERVER_ROOT/html/worker.lua; }
--- request
POST /x
{}
--- error_code: 500
--- response_body: {"error":"the lua hooks of this location did not load in this worker (see its start in the error log)"}
--- error_log eval
[qr/\[alert\].*forest lua hook "\S+\/html\/worker\.lua" does not load in this worker: \S+worker\.lua:2: no HOME in this process/,
 qr/\[error\].*forest: 500 the lua hooks of this location did not load in this worker/]



=== TEST 29: hooks need forest_predict or forest_kserve in their location
--- config
    location = /x { forest_lua_pre $TEST_NGINX_FOREST_ROOT/t/lua/identity.lua; }
--- must_die
--- error_log eval
qr/\[emerg\].*forest_lua_pre and forest_lua_post need forest_predict or forest_kserve in the same location in \S+nginx\.conf:\d+/



=== TEST 30: budget and memory limits are checked
--- http_config
    forest_lua_budget 10;
--- config
--- must_die
--- error_log eval
qr/\[emerg\].*value must be between 1000 and 2147483647 in \S+nginx\.conf:\d+/



=== TEST 31: lua-nginx-module and ngx_forest in one nginx: both answer
--- main_config
    load_module /usr/lib/nginx/modules/ndk_http_module.so;
    load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
--- http_config eval
$main::HttpConfig . '
    lua_package_path "/usr/share/lua/5.1/?.lua;;";'
--- config eval
$main::Config . '
    location = /hello {
        content_by_lua_block {
            ngx.say("hello from ", ngx.config.ngx_lua_version, " jit ", tostring(jit.status()))
        }
    }'
--- request eval
["GET /hello",
 "POST /tx\n" . main::tx_json(ForestT::input_rows('xgb_cat', 0, 10), items => 1)]
--- response_body_filters eval
ForestT::per_request(sub { $_[0] =~ /^hello from \d+ jit true\n$/ ? 'OK' : $_[0] },
 ForestT::json_like({ predictions => ForestT::predictions('xgb_cat', 'expected', 'proba', 0, 10) }))
--- response_body eval
['OK', 'OK']
--- no_error_log
[error]



=== TEST 32: a pre hook's second result is the rows' base_margin: XGBoost's answers with it
--- request eval
["POST /margin\n{\"rows\":" . ForestT::rows_json(ForestT::rounds_rows('xgb_binary', 'input', 0, 8))
    . ',"margins":[' . CORE::join(',', map { ForestT::num_text($_->[0]) } @{ ForestT::rounds_rows('xgb_binary', 'base_margin', 0, 8) }) . ']}',
 "POST /margin/mc\n{\"rows\":" . ForestT::rows_json(ForestT::rounds_rows('xgb_multiclass', 'input', 3, 5))
    . ',"margins":' . ForestT::rows_json(ForestT::rounds_rows('xgb_multiclass', 'base_margin', 3, 5)) . '}',
 "POST /margin?margin=1\n{\"rows\":" . ForestT::rows_json(ForestT::rounds_rows('xgb_binary', 'input', 0, 8))
    . ',"margins":' . ForestT::rows_json(ForestT::rounds_rows('xgb_binary', 'base_margin', 0, 8)) . '}']
--- response_body_filters eval
ForestT::per_request(
 ForestT::json_like({ predictions => [map { [1 - $_->[0], $_->[0]] } @{ ForestT::rounds_rows('xgb_binary', 'bm.expected', 0, 8) }] }),
 ForestT::json_like({ predictions => ForestT::rounds_rows('xgb_multiclass', 'bm.expected', 3, 5) }),
 ForestT::json_like({ predictions => [map { $_->[0] } @{ ForestT::rounds_rows('xgb_binary', 'bm.margin', 0, 8) }] }))
--- response_body eval
[('OK') x 3]
--- no_error_log
[error]



=== TEST 33: a base_margin of the wrong length or shape from a pre hook: 500 naming it
--- request eval
["POST /margin\n{\"rows\":[[" . CORE::join(',', (0) x 20) . "]],\"margins\":[1,2]}",
 "POST /margin/mc\n{\"rows\":[[" . CORE::join(',', (0) x 12) . "]],\"margins\":[1]}"]
--- error_code eval
[500, 500]
--- response_body_filters eval
ForestT::per_request(
 ForestT::json_like({ error => 'pre hook returned base_margin as an array of another length, want an array of 1 entries, one per row (each a number)' }),
 ForestT::json_like({ error => 'pre hook result: base_margin[1] is a number, want an array of 4 margins' }))
--- response_body eval
[('OK') x 2]
--- error_log eval
qr/pre hook (returned base_margin as an array of another length|result: base_margin\[1\] is a number)/



=== TEST 34: a post hook sees what the request asked for: predict_proba on a class-id model
--- request eval
["POST /echo\n{\"predict_proba\": true, \"instances\": " . ForestT::rows_json(ForestT::input_rows('xgb_binary', 0, 12)) . "}",
 "POST /echo\n{\"instances\": " . ForestT::rows_json(ForestT::input_rows('xgb_binary', 0, 12)) . "}"]
--- response_body_filters eval
ForestT::per_request(
 ForestT::json_like({ out => ForestT::predictions('xgb_binary', 'expected', 'proba', 0, 12) }),
 ForestT::json_like({ out => ForestT::predictions('xgb_binary', 'expected', 'class', 0, 12) }))
--- response_body eval
[('OK') x 2]
--- no_error_log
[error]
