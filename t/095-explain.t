# Explanations and per-request options: treeshap_output (TreeSHAP
# contributions, Triton FIL's output name and layout) and leaf_index on
# KServe v2, "contributions" / "leaf_index" on the simple API, equal to the
# libraries' own (tests/reference/shap); KServe "parameters" predict_proba
# and output_margin on the request or its input; requested output names
# select what is answered; the errors.
use FindBin;
use lib "$FindBin::Bin/inc";
use ForestT;
use Test::Nginx::Socket 'no_plan';

our $HttpConfig = <<'_EOC_';
    forest_model fraud   $TEST_NGINX_SHARED/models/xgb_binary.json;
    forest_model fraudp  $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on;
    forest_model multi   $TEST_NGINX_SHARED/models/xgb_multiclass.json predict_proba=on;
    forest_model lmulti  $TEST_NGINX_SHARED/models/lgb_multiclass.txt predict_proba=on;
    forest_model lcat    $TEST_NGINX_SHARED/models/lgb_cat.txt;
    forest_model nocover $TEST_NGINX_SHARED/shap/xgb_nocover.json;
_EOC_

our $Config = <<'_EOC_';
    location /v2 { forest_kserve; }
    location /predict/ { forest_predict; }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(http_config => $HttpConfig) if !defined $block->http_config;
    $block->set_value(config => $Config) if !defined $block->config;
});

# rows of tests/reference/shap/<model>.<kind>.csv, flat
sub shap_ref {
    my ($model, $kind, $from, $n) = @_;
    my $path = "$ENV{TEST_NGINX_SHARED}/shap/$model.$kind.csv";
    open my $in, '<', $path or die "cannot open $path: $!\n";
    my $header = <$in>;
    my @rows = map { chomp; [map { $_ + 0 } split /,/, $_, -1] } <$in>;
    close $in;
    return [map { @$_ } @rows[$from .. $from + $n - 1]];
}

sub shap_rows { ForestT::input_rows(@_) }

sub infer { my ($model, $rows, %opt) = @_; "POST /v2/models/$model/infer\n" . ForestT::kserve_json($rows, %opt) }

sub rounds_ref { ForestT::rounds_rows(@_) }
sub rounds_flat { [map { @$_ } @{ rounds_ref(@_) }] }

# A KServe body with input__0 and base_margin ([N] or [N, C]) of <name>'s
# recorded rows; %opt: outputs, parameters, bm (base_margin member JSON
# instead of the recorded one)
sub bm_json {
    my ($name, $from, $n, %opt) = @_;
    my $rows = rounds_ref($name, 'input', $from, $n);
    my $bm = rounds_ref($name, 'base_margin', $from, $n);
    my $c = @{ $bm->[0] };
    my $member = $opt{bm} // ('"shape":[' . ($c == 1 ? $n : "$n,$c") . '],"datatype":"FP64","data":'
        . ForestT::rows_json($bm));
    return '{"inputs":[{"name":"input__0","shape":[' . $n . ',' . scalar(@{ $rows->[0] })
        . '],"datatype":"FP32","data":' . ForestT::rows_json($rows) . '},{"name":"base_margin",'
        . $member . '}]' . (defined $opt{outputs} ? ',"outputs":' . $opt{outputs} : '')
        . (defined $opt{parameters} ? ',"parameters":' . $opt{parameters} : '') . '}';
}
sub bm_infer { my ($model, @rest) = @_; "POST /v2/models/$model/infer\n" . bm_json(@rest) }

# The same rows and margins as binary data (Triton's binary tensor
# extension: FP32 rows, FP64 margins), in the inputs' order; %opt:
# margins_first, parameters.  A whole request for --- raw_request.
sub bm_binary {
    my ($model, $name, $from, $n, %opt) = @_;
    my $rows = rounds_ref($name, 'input', $from, $n);
    my $bm = rounds_ref($name, 'base_margin', $from, $n);
    my $c = @{ $bm->[0] };
    my $x = pack 'f<*', map { defined $_ ? $_ : 9**9**9 / 9**9**9 } map { @$_ } @$rows;
    my $b = pack 'd<*', map { @$_ } @$bm;
    my $in0 = '{"name":"input__0","shape":[' . $n . ',' . scalar(@{ $rows->[0] })
        . '],"datatype":"FP32","parameters":{"binary_data_size":' . length($x) . '}}';
    my $in1 = '{"name":"base_margin","shape":[' . ($c == 1 ? $n : "$n,$c")
        . '],"datatype":"FP64","parameters":{"binary_data_size":' . length($b) . '}}';
    my $json = '{"inputs":[' . ($opt{margins_first} ? "$in1,$in0" : "$in0,$in1") . ']'
        . (defined $opt{parameters} ? ',"parameters":' . $opt{parameters} : '') . '}';
    return ForestT::http_request('POST', "/v2/models/$model/infer",
        $json . ($opt{margins_first} ? $b . $x : $x . $b),
        'Inference-Header-Content-Length: ' . length $json);
}

# XGBoost's P(class 1) as the served [1 - p, p]
sub proba2 { [map { (1 - $_, $_) } @{ $_[0] }] }

our @BmResponses;
our @IxResponses;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: treeshap_output with output__0: [N, F+1], XGBoost's pred_contribs (rows with missing values)
--- request eval
main::infer('fraud', main::shap_rows('xgb_binary', 0, 8),
    outputs => '[{"name":"output__0"},{"name":"treeshap_output"}]')
--- response_body_filters eval
ForestT::json_like({ outputs => [ForestT::kserve_output('xgb_binary', 'expected', 'class', 0, 8),
    { name => 'treeshap_output', datatype => 'FP32', shape => [8, 21],
      data => main::shap_ref('xgb_binary', 'contribs', 0, 8) }] })
--- response_body: OK
--- no_error_log
[error]



=== TEST 2: only the outputs listed are answered; multiclass is [N, C, F+1] (FIL's layout)
--- request eval
[main::infer('multi', main::shap_rows('xgb_multiclass', 3, 5), outputs => '[{"name":"treeshap_output"}]'),
 main::infer('lmulti', main::shap_rows('lgb_multiclass', 0, 4), outputs => '[{"name":"treeshap_output"}]')]
--- response_body_filters eval
ForestT::per_request(
 ForestT::json_like({ outputs => [{ name => 'treeshap_output', shape => [5, 4, 13],
      data => main::shap_ref('xgb_multiclass', 'contribs', 3, 5) }] }),
 ForestT::json_like({ outputs => [{ name => 'treeshap_output', shape => [4, 3, 11],
      data => main::shap_ref('lgb_multiclass', 'contribs', 0, 4) }] }))
--- response_body eval
[('OK') x 2]



=== TEST 3: categorical splits and unseen codes: LightGBM's pred_contrib and pred_leaf
--- request eval
main::infer('lcat', main::shap_rows('lgb_cat', 158, 8),
    outputs => '[{"name":"treeshap_output"},{"name":"leaf_index"}]')
--- response_body_filters eval
ForestT::json_like({ outputs => [
    { name => 'treeshap_output', shape => [8, 9], data => main::shap_ref('lgb_cat', 'contribs', 158, 8) },
    { name => 'leaf_index', datatype => 'INT32', shape => [8, 60], data => main::shap_ref('lgb_cat', 'leaf', 158, 8) }] })
--- response_body: OK



=== TEST 4: leaf_index numbers nodes as XGBoost does (pred_leaf)
--- request eval
main::infer('multi', main::shap_rows('xgb_multiclass', 0, 3), outputs => '[{"name":"leaf_index"}]')
--- response_body_filters eval
ForestT::json_like({ outputs => [{ name => 'leaf_index', datatype => 'INT32', shape => [3, 120],
    data => main::shap_ref('xgb_multiclass', 'leaf', 0, 3) }] })
--- response_body: OK



=== TEST 5: treeshap_output as binary data
--- request eval
main::infer('fraud', main::shap_rows('xgb_binary', 10, 2),
    outputs => '[{"name":"treeshap_output","parameters":{"binary_data":true}}]')
--- response_body_filters eval
ForestT::binary_like({ outputs => [{ name => 'treeshap_output', shape => [2, 21],
    parameters => { binary_data_size => 168 } }] },
    [map { ForestT::near($_, 1e-5) } @{ main::shap_ref('xgb_binary', 'contribs', 10, 2) }])
--- response_body: OK



=== TEST 6: parameters predict_proba and output_margin, on the request or on its input
--- request eval
[main::infer('fraudp', main::shap_rows('xgb_binary', 0, 4), parameters => '{"predict_proba":false}'),
 main::infer('fraud', main::shap_rows('xgb_binary', 0, 4), parameters => '{"predict_proba":true}'),
 main::infer('fraud', main::shap_rows('xgb_binary', 0, 4), parameters => '{"output_margin":true}'),
 "POST /v2/models/multi/infer\n" . '{"inputs":[{"name":"input__0","shape":[2,12],"datatype":"FP32","parameters":{"raw_score":true},"data":'
     . ForestT::rows_json(main::shap_rows('xgb_multiclass', 0, 2)) . '}]}']
--- response_body_filters eval
ForestT::per_request(
 ForestT::json_like({ outputs => [ForestT::kserve_output('xgb_binary', 'expected', 'class', 0, 4)] }),
 ForestT::json_like({ outputs => [ForestT::kserve_output('xgb_binary', 'expected', 'proba', 0, 4)] }),
 ForestT::json_like({ outputs => [ForestT::kserve_output('xgb_binary', 'margin', 'value', 0, 4)] }),
 ForestT::json_like({ outputs => [ForestT::kserve_output('xgb_multiclass', 'margin', 'value', 0, 2)] }))
--- response_body eval
[('OK') x 4]



=== TEST 7: the simple API: "contributions" and "leaf_index" options
--- request eval
"POST /predict/lmulti\n{\"instances\":" . ForestT::rows_json(main::shap_rows('lgb_multiclass', 5, 1))
    . ',"contributions":true,"leaf_index":true}'
--- response_body_filters eval
my @c = @{ main::shap_ref('lgb_multiclass', 'contribs', 5, 1) };
ForestT::json_like({ predictions => ForestT::predictions('lgb_multiclass', 'expected', 'proba', 5, 1),
    contributions => [[[@c[0 .. 10]], [@c[11 .. 21]], [@c[22 .. 32]]]],
    leaf_index => [main::shap_ref('lgb_multiclass', 'leaf', 5, 1)] })
--- response_body: OK



=== TEST 8: unknown output names are a 400 naming the valid ones
--- request eval
main::infer('fraud', main::shap_rows('xgb_binary', 0, 1), outputs => '[{"name":"shap"}]')
--- error_code: 400
--- response_body_filters eval
ForestT::json_like({ error => 'unknown output "shap": model fraud answers output__0, treeshap_output, leaf_index, treeshap_interactions' })
--- response_body: OK



=== TEST 9: a model whose file stores no node cover predicts but refuses contributions
--- request eval
[main::infer('nocover', ForestT::input_rows('xgb_reg', 0, 2)),
 main::infer('nocover', ForestT::input_rows('xgb_reg', 0, 2), outputs => '[{"name":"treeshap_output"}]'),
 "POST /predict/nocover\n{\"instances\":" . ForestT::rows_json(ForestT::input_rows('xgb_reg', 0, 1)) . ',"contributions":true}']
--- error_code eval
[200, 400, 400]
--- response_body_filters eval
ForestT::per_request(
 ForestT::json_like({ outputs => [ForestT::kserve_output('xgb_reg', 'expected', 'value', 0, 2)] }),
 ForestT::json_like({ error => qr/^model nocover cannot answer treeshap_output: its file stores no node cover/ }),
 ForestT::json_like({ error => qr/^model nocover cannot answer contributions: its file stores no node cover/ }))
--- response_body eval
[('OK') x 3]



=== TEST 10: bad option values are a 400
--- request eval
[main::infer('fraud', main::shap_rows('xgb_binary', 0, 1), parameters => '{"predict_proba":"yes"}'),
 main::infer('fraud', main::shap_rows('xgb_binary', 0, 1),
     outputs => '[{"name":"leaf_index","parameters":{"classification":2}}]'),
 "POST /predict/fraud\n{\"contributions\":1,\"instances\":[[1,2]]}"]
--- error_code eval
[400, 400, 400]
--- response_body_filters eval
ForestT::per_request(
 ForestT::json_like({ error => 'parameters.predict_proba is a string; it must be true or false' }),
 ForestT::json_like({ error => 'parameters.classification applies to output__0 only' }),
 ForestT::json_like({ error => 'option contributions is a number; it must be true or false' }))
--- response_body eval
[('OK') x 3]



=== TEST 11: trees=all|best|N: Booster.predict, XGBClassifier.predict_proba (up to best_iteration) and iteration_range; 6 trees a round
--- http_config
    forest_model eall  $TEST_NGINX_SHARED/rounds/xgb_early.json predict_proba=on;
    forest_model ebest $TEST_NGINX_SHARED/rounds/xgb_early.json predict_proba=on trees=best;
    forest_model er2   $TEST_NGINX_SHARED/rounds/xgb_early.ubj predict_proba=on trees=2;
--- request eval
[main::infer('eall', main::rounds_ref('xgb_early', 'input', 0, 8)),
 main::infer('ebest', main::rounds_ref('xgb_early', 'input', 0, 8)),
 main::infer('ebest', main::rounds_ref('xgb_early', 'input', 0, 8), parameters => '{"output_margin":true}'),
 main::infer('er2', main::rounds_ref('xgb_early', 'input', 0, 8)),
 main::infer('ebest', main::rounds_ref('xgb_early', 'input', 0, 2), outputs => '[{"name":"leaf_index"}]')]
--- response_body_filters eval
ForestT::per_request(
 ForestT::json_like({ outputs => [{ name => 'output__0', shape => [8, 3], data => main::rounds_flat('xgb_early', 'all', 0, 8) }] }),
 ForestT::json_like({ outputs => [{ name => 'output__0', shape => [8, 3], data => main::rounds_flat('xgb_early', 'best', 0, 8) }] }),
 ForestT::json_like({ outputs => [{ name => 'output__0', shape => [8, 3], data => main::rounds_flat('xgb_early', 'best.margin', 0, 8) }] }),
 ForestT::json_like({ outputs => [{ name => 'output__0', shape => [8, 3], data => main::rounds_flat('xgb_early', 'r2', 0, 8) }] }),
 ForestT::json_like({ outputs => [{ name => 'leaf_index', shape => [2, 48] }] }))
--- response_body eval
[('OK') x 5]
--- no_error_log
[error]



=== TEST 12: trees=best on a model without best_iteration fails nginx -t, naming the file
--- http_config
    forest_model aft $TEST_NGINX_FOREST_ROOT/tests/models/xgb3_aft.json trees=best;
--- config
    location /v2 { forest_kserve; }
--- must_die
--- error_log eval
qr{\[emerg\].*forest_model "aft".*/xgb3_aft\.json: trees=best: the model stores no best_iteration.* in \S+nginx\.conf:\d+}



=== TEST 13: more rounds than the model has fails nginx -t
--- http_config
    forest_model e $TEST_NGINX_SHARED/rounds/xgb_early.json trees=13;
--- config
    location /v2 { forest_kserve; }
--- must_die
--- error_log eval
qr{\[emerg\].*forest_model "e".*/xgb_early\.json: trees: 13 rounds asked, the model has 12.* in \S+nginx\.conf:\d+}



=== TEST 14: a trees= value that is not all, best or a round count fails nginx -t
--- http_config
    forest_model e $TEST_NGINX_SHARED/rounds/xgb_early.json trees=0;
--- config
    location /v2 { forest_kserve; }
--- must_die
--- error_log eval
qr{\[emerg\].*forest_model "e": invalid "trees=0", expected all, best or a number of boosting rounds in \S+nginx\.conf:\d+}



=== TEST 15: base_margin: XGBoost's predictions, margins and contributions with it (binary, multiclass, regression; KServe and simple API)
--- http_config eval
$main::HttpConfig . '    forest_model reg $TEST_NGINX_SHARED/models/xgb_reg.json;'
--- request eval
[main::bm_infer('fraudp', 'xgb_binary', 0, 6),
 main::bm_infer('fraud', 'xgb_binary', 0, 6, parameters => '{"output_margin":true}'),
 main::bm_infer('multi', 'xgb_multiclass', 2, 5, outputs => '[{"name":"output__0"},{"name":"treeshap_output"}]'),
 main::bm_infer('multi', 'xgb_multiclass', 2, 5, parameters => '{"output_margin":true}'),
 main::bm_infer('reg', 'xgb_reg', 10, 4),
 "POST /predict/fraudp\n{\"instances\":" . ForestT::rows_json(main::rounds_ref('xgb_binary', 'input', 3, 3))
    . ',"base_margin":' . ForestT::rows_json(main::rounds_ref('xgb_binary', 'base_margin', 3, 3)) . '}']
--- response_body_filters eval
ForestT::per_request(
 ForestT::json_like({ outputs => [{ shape => [6, 2], data => main::proba2(main::rounds_flat('xgb_binary', 'bm.expected', 0, 6)) }] }),
 ForestT::json_like({ outputs => [{ shape => [6, 1], data => main::rounds_flat('xgb_binary', 'bm.margin', 0, 6) }] }),
 ForestT::json_like({ outputs => [{ shape => [5, 4], data => main::rounds_flat('xgb_multiclass', 'bm.expected', 2, 5) },
     { name => 'treeshap_output', shape => [5, 4, 13], data => main::rounds_flat('xgb_multiclass', 'bm.contribs', 2, 5) }] }),
 ForestT::json_like({ outputs => [{ shape => [5, 4], data => main::rounds_flat('xgb_multiclass', 'bm.margin', 2, 5) }] }),
 ForestT::json_like({ outputs => [{ shape => [4, 1], data => main::rounds_flat('xgb_reg', 'bm.expected', 10, 4) }] }),
 ForestT::json_like({ predictions => [map { [1 - $_, $_] } @{ main::rounds_flat('xgb_binary', 'bm.expected', 3, 3) }] }))
--- response_body eval
[('OK') x 6]
--- no_error_log
[error]



=== TEST 16: the batcher carries base_margin per request: requests with and without it, merged by batch_delay
--- http_config
    forest_model fraudb $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on batch_delay=200ms;
--- init
@main::BmResponses = ForestT::concurrent($ENV{TEST_NGINX_SERVER_PORT}, 20,
    map { ForestT::http_request('POST', '/v2/models/fraudb/infer', $_) }
    main::bm_json('xgb_binary', 0, 4), ForestT::kserve_json(ForestT::input_rows('xgb_binary', 4, 4)),
    main::bm_json('xgb_binary', 8, 3), main::bm_json('xgb_binary', 11, 2, parameters => '{"output_margin":true}'));
--- request eval
main::infer('fraudb', ForestT::input_rows('xgb_binary', 0, 1))
--- response_body_filters eval
my @want = (
    ForestT::json_like({ outputs => [{ shape => [4, 2], data => main::proba2(main::rounds_flat('xgb_binary', 'bm.expected', 0, 4)) }] }),
    ForestT::json_like({ outputs => [ForestT::kserve_output('xgb_binary', 'expected', 'proba', 4, 4)] }),
    ForestT::json_like({ outputs => [{ shape => [3, 2], data => main::proba2(main::rounds_flat('xgb_binary', 'bm.expected', 8, 3)) }] }),
    ForestT::json_like({ outputs => [{ shape => [2, 1], data => main::rounds_flat('xgb_binary', 'bm.margin', 11, 2) }] }));
sub {
    for my $i (0 .. $#want) {
        my $r = $main::BmResponses[$i];
        return "request $i: status $r->{code}: $r->{body}" if $r->{code} != 200;
        my $d = $want[$i]->($r->{body});
        return "request $i: $d" if $d ne 'OK';
    }
    return ForestT::json_like({ outputs => [ForestT::kserve_output('xgb_binary', 'expected', 'proba', 0, 1)] })->($_[0]);
}
--- response_body: OK
--- no_error_log
[error]



=== TEST 17: a base_margin of the wrong rows, shape or datatype is a 400 naming it
--- request eval
[main::bm_infer('fraud', 'xgb_binary', 0, 2, bm => '"shape":[3],"datatype":"FP32","data":[1,2,3]'),
 main::bm_infer('fraud', 'xgb_binary', 0, 2, bm => '"shape":[2],"datatype":"INT32","data":[1,2]'),
 main::bm_infer('multi', 'xgb_multiclass', 0, 2, bm => '"shape":[2],"datatype":"FP32","data":[1,2]'),
 "POST /predict/fraud\n{\"instances\":" . ForestT::rows_json(ForestT::input_rows('xgb_binary', 0, 2)) . ',"base_margin":[0.5]}']
--- error_code eval
[400, 400, 400, 400]
--- response_body_filters eval
ForestT::per_request(
 ForestT::json_like({ error => 'base_margin shape has 3 rows; input__0 has 2' }),
 ForestT::json_like({ error => 'base_margin datatype must be FP32 or FP64' }),
 ForestT::json_like({ error => 'base_margin shape must be [2, 4]: model multi has 4 outputs, one margin each' }),
 ForestT::json_like({ error => 'base_margin holds 1 values; 2 rows of 1 margins take 2' }))
--- response_body eval
[('OK') x 4]



=== TEST 18: base_margin as binary data after binary rows (multiclass [N, C], FP64): XGBoost's
--- raw_request eval
main::bm_binary('multi', 'xgb_multiclass', 0, 12)
--- response_body_filters eval
ForestT::json_like({ outputs => [{ shape => [12, 4], data => main::rounds_flat('xgb_multiclass', 'bm.expected', 0, 12) }] })
--- response_body: OK
--- no_error_log
[error]



=== TEST 19: base_margin as binary data before the rows ([N]), margins asked for: XGBoost's
--- raw_request eval
main::bm_binary('fraud', 'xgb_binary', 5, 20, margins_first => 1, parameters => '{"output_margin":true}')
--- response_body_filters eval
ForestT::json_like({ outputs => [{ shape => [20, 1], data => main::rounds_flat('xgb_binary', 'bm.margin', 5, 20) }] })
--- response_body: OK
--- no_error_log
[error]



=== TEST 20: treeshap_interactions: XGBoost's pred_interactions, [N, F+1, F+1] and multiclass [N, C, F+1, F+1] (rows with missing values)
--- request eval
[main::infer('fraud', main::shap_rows('xgb_binary', 0, 4),
    outputs => '[{"name":"treeshap_interactions"},{"name":"treeshap_output"}]'),
 main::infer('multi', main::shap_rows('xgb_multiclass', 5, 3), outputs => '[{"name":"treeshap_interactions"}]')]
--- response_body_filters eval
ForestT::per_request(
 ForestT::json_like({ outputs => [
    { name => 'treeshap_output', shape => [4, 21], data => main::shap_ref('xgb_binary', 'contribs', 0, 4) },
    { name => 'treeshap_interactions', datatype => 'FP32', shape => [4, 21, 21],
      data => main::shap_ref('xgb_binary', 'interactions', 0, 4) }] }),
 ForestT::json_like({ outputs => [{ name => 'treeshap_interactions', shape => [3, 4, 13, 13],
      data => main::shap_ref('xgb_multiclass', 'interactions', 5, 3) }] }))
--- response_body eval
[('OK') x 2]
--- no_error_log
[error]



=== TEST 21: the simple API: "interactions" per row [F+1][F+1], multiclass [C][F+1][F+1]
--- request eval
["POST /predict/fraud\n{\"instances\":" . ForestT::rows_json(main::shap_rows('xgb_binary', 2, 1)) . ',"interactions":true}',
 "POST /predict/multi\n{\"instances\":" . ForestT::rows_json(main::shap_rows('xgb_multiclass', 0, 1)) . ',"interactions":true}']
--- response_body_filters eval
my @b = @{ main::shap_ref('xgb_binary', 'interactions', 2, 1) };
my @m = @{ main::shap_ref('xgb_multiclass', 'interactions', 0, 1) };
ForestT::per_request(
 ForestT::json_like({ interactions => [[map { [@b[21 * $_ .. 21 * $_ + 20]] } 0 .. 20]] }),
 ForestT::json_like({ interactions => [[map { my $k = $_; [map { [@m[169 * $k + 13 * $_ .. 169 * $k + 13 * $_ + 12]] } 0 .. 12] } 0 .. 3]] }))
--- response_body eval
[('OK') x 2]



=== TEST 22: a model without node covers refuses interactions, as contributions
--- request eval
[main::infer('nocover', ForestT::input_rows('xgb_reg', 0, 2), outputs => '[{"name":"treeshap_interactions"}]'),
 "POST /predict/nocover\n{\"instances\":" . ForestT::rows_json(ForestT::input_rows('xgb_reg', 0, 1)) . ',"interactions":true}']
--- error_code eval
[400, 400]
--- response_body_filters eval
ForestT::per_request(
 ForestT::json_like({ error => qr/^model nocover cannot answer treeshap_interactions: its file stores no node cover/ }),
 ForestT::json_like({ error => qr/^model nocover cannot answer interactions: its file stores no node cover/ }))
--- response_body eval
[('OK') x 2]



=== TEST 23: treeshap_interactions as binary data
--- request eval
main::infer('fraud', main::shap_rows('xgb_binary', 6, 2),
    outputs => '[{"name":"treeshap_interactions","parameters":{"binary_data":true}}]')
--- response_body_filters eval
ForestT::binary_like({ outputs => [{ name => 'treeshap_interactions', shape => [2, 21, 21],
    parameters => { binary_data_size => 3528 } }] },
    [map { ForestT::near($_, 1e-5) } @{ main::shap_ref('xgb_binary', 'interactions', 6, 2) }])
--- response_body: OK



=== TEST 24: a batch computes interactions for the requests that ask only: requests with and without them, merged by batch_delay
--- http_config
    forest_model fraudb $TEST_NGINX_SHARED/models/xgb_binary.json batch_delay=200ms;
--- init
@main::IxResponses = ForestT::concurrent($ENV{TEST_NGINX_SERVER_PORT}, 20,
    map { ForestT::http_request('POST', '/v2/models/fraudb/infer', $_) }
    ForestT::kserve_json(ForestT::input_rows('xgb_binary', 0, 3)),
    ForestT::kserve_json(ForestT::input_rows('xgb_binary', 1, 2), outputs => '[{"name":"treeshap_interactions"}]'),
    ForestT::kserve_json(ForestT::input_rows('xgb_binary', 6, 2), outputs => '[{"name":"treeshap_interactions"}]'));
--- request eval
main::infer('fraudb', ForestT::input_rows('xgb_binary', 0, 1))
--- response_body_filters eval
my @want = (
    ForestT::json_like({ outputs => [ForestT::kserve_output('xgb_binary', 'expected', 'class', 0, 3)] }),
    ForestT::json_like({ outputs => [{ name => 'treeshap_interactions', shape => [2, 21, 21],
        data => main::shap_ref('xgb_binary', 'interactions', 1, 2) }] }),
    ForestT::json_like({ outputs => [{ name => 'treeshap_interactions', shape => [2, 21, 21],
        data => main::shap_ref('xgb_binary', 'interactions', 6, 2) }] }));
sub {
    for my $i (0 .. $#want) {
        my $r = $main::IxResponses[$i];
        return "request $i: status $r->{code}: $r->{body}" if $r->{code} != 200;
        my $d = $want[$i]->($r->{body});
        return "request $i: $d" if $d ne 'OK';
    }
    return 'OK';
}
--- response_body: OK
--- no_error_log
[error]



=== TEST 25: a request asking for more than 4,194,304 interaction values is 413 (multi: 4 classes x 13^2 = 676 a row, 6,204 rows at most), on both APIs
--- request eval
my $zero = '[' . join(',', (0) x 12) . ']';
my $rows = '[' . join(',', ($zero) x 6205) . ']';
["POST /predict/multi\n{\"instances\":$rows,\"interactions\":true}",
 "POST /v2/models/multi/infer\n{\"inputs\":[{\"name\":\"input__0\",\"shape\":[6205,12],\"datatype\":\"FP32\",\"data\":$rows}],\"outputs\":[{\"name\":\"treeshap_interactions\"}]}"]
--- error_code eval
[413, 413]
--- response_body_filters eval
ForestT::per_request((
 ForestT::json_like({ error => qr/^treeshap_interactions of model multi take 676 values a row; a request may ask for at most 4194304 values \(6204 rows\), this one sent 6205 rows$/ })) x 2)
--- response_body eval
[('OK') x 2]
