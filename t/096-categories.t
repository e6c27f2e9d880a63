# Category names in requests: models trained on pandas DataFrames with string
# categories (XGBoost 3.x stores the names, LightGBM writes
# pandas_categorical) take the names where they take codes: named-feature
# objects and row arrays on the simple API, KServe JSON data and a BYTES
# tensor.  Every answer must be the library's own on the same rows as a
# DataFrame (tests/models/categories/<model>.rows.json, made with
# tests/models/<model>.expected.csv by scripts/make_category_references.py).
# LightGBM takes a name it never saw as missing; XGBoost refuses it, and so
# does the server (400).  Metadata and config list the names; a Lua pre
# hook sending codes works as before.
use FindBin;
use lib "$FindBin::Bin/inc";
use ForestT;
use JSON::PP ();
use Test::Nginx::Socket 'no_plan';

our $JSON = JSON::PP->new->canonical;
my @FEATURES = qw(x0 color x1 size);

# the rows of categories/<model>.rows.json: objects keyed by feature name
sub objects {
    my $model = shift;
    return $JSON->decode(ForestT::slurp(
        "$ENV{TEST_NGINX_FOREST_ROOT}/tests/models/categories/$model.rows.json"));
}

# the same rows as arrays in feature order; with $text, numbers as strings
# (what a BYTES tensor holds)
sub arrays {
    my ($model, $text) = @_;
    return [map { my $o = $_; [map {
        my $v = $o->{$_};
        defined $v && $text && !/^(?:color|size)$/ ? sprintf('%.9g', $v) : $v
    } @FEATURES] } @{ objects($model) }];
}

sub rows_of { scalar @{ objects($_[0]) } }

# The rows as a BYTES tensor in binary data (Triton's serialisation: a
# 4-byte little-endian length before each string; a missing value is the
# empty string); a whole request for --- raw_request.
sub bytes_binary {
    my ($served, $model) = @_;
    my $rows = arrays($model, 1);
    my $bin = join '', map { my $v = $_ // ''; pack('V', length $v) . $v } map { @$_ } @$rows;
    my $json = '{"inputs":[{"name":"input__0","shape":[' . scalar(@$rows) . ',4],'
        . '"datatype":"BYTES","parameters":{"binary_data_size":' . length($bin) . '}}]}';
    return ForestT::http_request('POST', "/v2/models/$served/infer", $json . $bin,
                                 'Inference-Header-Content-Length: ' . length $json);
}

# a KServe request to model $served of the rows of $model
sub kserve {
    my ($served, $model, $datatype, $text) = @_;
    my $rows = arrays($model, $text);
    return "POST /v2/models/$served/infer\n" . $JSON->encode({ inputs => [{
        name => 'input__0', shape => [scalar @$rows, 4], datatype => $datatype,
        data => [map { @$_ } @$rows] }] });
}

our $HttpConfig = <<'_EOC_';
    forest_model xgb3_strcat $TEST_NGINX_FOREST_ROOT/tests/models/xgb3_strcat.json predict_proba=on;
    forest_model xgb3_strcat_ubj $TEST_NGINX_FOREST_ROOT/tests/models/xgb3_strcat.ubj predict_proba=on;
    forest_model lgb4_strcat $TEST_NGINX_FOREST_ROOT/tests/models/lgb4_strcat.txt predict_proba=on;
    forest_model plain $TEST_NGINX_FOREST_ROOT/tests/models/xgb3_binary.json;
_EOC_

our $Config = <<'_EOC_';
    location /predict/ { forest_predict; }
    location /v2/ { forest_kserve; }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(http_config => $HttpConfig) if !defined $block->http_config;
    $block->set_value(config => $Config) if !defined $block->config;
    $block->set_value(no_error_log => "[error]\n") if !defined $block->no_error_log;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: XGBoost 3.x names in named-feature objects (simple API)
--- request eval
"POST /predict/xgb3_strcat\n" . $main::JSON->encode({ instances => main::objects('xgb3_strcat') })
--- response_body_filters eval
ForestT::json_like({ predictions => ForestT::predictions('xgb3_strcat', 'expected', 'proba', 0, main::rows_of('xgb3_strcat')) })
--- response_body: OK



=== TEST 2: LightGBM names in row arrays, unseen names as missing (simple API)
--- request eval
"POST /predict/lgb4_strcat\n" . $main::JSON->encode({ instances => main::arrays('lgb4_strcat') })
--- response_body_filters eval
ForestT::json_like({ predictions => ForestT::predictions('lgb4_strcat', 'expected', 'proba', 0, main::rows_of('lgb4_strcat')) })
--- response_body: OK



=== TEST 3: LightGBM names in named-feature objects, margins (simple API)
--- request eval
"POST /predict/lgb4_strcat?margin=1\n" . $main::JSON->encode({ instances => main::objects('lgb4_strcat') })
--- response_body_filters eval
ForestT::json_like({ predictions => ForestT::predictions('lgb4_strcat', 'margin', 'value', 0, main::rows_of('lgb4_strcat')) })
--- response_body: OK



=== TEST 4: names among the numbers of KServe JSON FP32 data
--- request eval
main::kserve('lgb4_strcat', 'lgb4_strcat', 'FP32')
--- response_body_filters eval
ForestT::json_like({ outputs => [ForestT::kserve_output('lgb4_strcat', 'expected', 'proba', 0, main::rows_of('lgb4_strcat'))] })
--- response_body: OK



=== TEST 5: a BYTES tensor: names, and numbers as text (XGBoost UBJSON)
--- request eval
main::kserve('xgb3_strcat_ubj', 'xgb3_strcat', 'BYTES', 1)
--- response_body_filters eval
ForestT::json_like({ outputs => [ForestT::kserve_output('xgb3_strcat', 'expected', 'proba', 0, main::rows_of('xgb3_strcat'))] })
--- response_body: OK



=== TEST 6: XGBoost refuses a name it never saw, as XGBoost does
--- request eval
"POST /predict/xgb3_strcat\n" . $main::JSON->encode({ instances => [{ x0 => 0.5, color => 'purple', x1 => 1, size => 'S' }] })
--- error_code: 400
--- response_body_like: row 0, feature \\"color\\": \\"purple\\" is not one of the model's categories
--- no_error_log
[error]



=== TEST 7: a string for a feature without names, and for a model without any
--- request eval
["POST /predict/lgb4_strcat\n" . $main::JSON->encode({ instances => [["1.5", "red", 0, "S"]] }),
 "POST /v2/models/plain/infer\n" . '{"inputs":[{"name":"input__0","shape":[1,6],"datatype":"BYTES","data":["1","2","3","4","5","6"]}]}',
 "POST /v2/models/xgb3_strcat/infer\n" . '{"inputs":[{"name":"input__0","shape":[1,4],"datatype":"BYTES","data":[1,"red",2,"S"]}]}']
--- error_code eval
[400, 400, 400]
--- response_body_like eval
['row 0, feature \\\\"x0\\\\": \\\\"1.5\\\\" is a string, but the feature has no category names: send a number',
 'datatype \\\\"BYTES\\\\" is not supported',
 'input__0 is BYTES but its data holds numbers; send every value as a string']



=== TEST 8: metadata and config list the names and what an unseen one becomes
--- request eval
["GET /v2/models/lgb4_strcat", "GET /v2/models/xgb3_strcat/config"]
--- response_body_filters eval
ForestT::per_request(
 ForestT::json_like({ name => 'lgb4_strcat', parameters => {
     categories => { color => [qw(red green blue cyan magenta)], size => [qw(S M L XL)] },
     unseen_category => 'missing' } }),
 ForestT::json_like({ name => 'xgb3_strcat', parameters => {
     categories => { string_value => '{"color":["red","green","blue","cyan","magenta"],"size":["S","M","L","XL"]}' },
     unseen_category => { string_value => 'refused' } } }))
--- response_body eval
["OK", "OK"]



=== TEST 9: a Lua pre hook sending codes works as before
--- config
    location = /lua { forest_predict lgb4_strcat;
                      forest_lua_pre $TEST_NGINX_FOREST_ROOT/t/lua/identity.lua; }
--- request eval
"POST /lua\n{\"rows\": " . ForestT::rows_json(ForestT::input_rows('lgb4_strcat', 0, 20)) . "}"
--- response_body_filters eval
ForestT::json_like({ predictions => ForestT::predictions('lgb4_strcat', 'expected', 'proba', 0, 20) })
--- response_body: OK



=== TEST 10: a BYTES tensor as binary data (XGBoost): names, numbers as text, "" missing
--- raw_request eval
main::bytes_binary('xgb3_strcat', 'xgb3_strcat')
--- response_body_filters eval
ForestT::json_like({ outputs => [ForestT::kserve_output('xgb3_strcat', 'expected', 'proba', 0, main::rows_of('xgb3_strcat'))] })
--- response_body: OK



=== TEST 11: a BYTES tensor as binary data (LightGBM, unseen names as missing)
--- raw_request eval
main::bytes_binary('lgb4_strcat', 'lgb4_strcat')
--- response_body_filters eval
ForestT::json_like({ outputs => [ForestT::kserve_output('lgb4_strcat', 'expected', 'proba', 0, main::rows_of('lgb4_strcat'))] })
--- response_body: OK
