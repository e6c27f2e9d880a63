# Batches on the event loop (inline_max): a CPU batch predicted to take no
# longer than the model's inline_max runs where it is dispatched, without
# the hand-off to a batch thread and back.  Its answers and metrics equal
# those of the threaded path; a batch over the bound, contributions and
# inline_max=0 go to a thread.  The debug trace (error_log debug) names the
# path each batch took.
use FindBin;
use lib "$FindBin::Bin/inc";
use ForestT;
use Test::Nginx::Socket 'no_plan';

log_level('debug');

# inl: always on the loop (the bound is a minute); thr: never; tiny: only
# batches predicted under 1 us, which 200 rows never are; full: batches
# close at 4 rows, inside the request's handler
our $HttpConfig = <<'_EOC_';
    forest_model inl  $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on inline_max=60s;
    forest_model thr  $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on inline_max=0;
    forest_model tiny $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on inline_max=1us;
    forest_model full $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on inline_max=60s max_batch_size=4;
_EOC_

our $Config = <<'_EOC_';
    location /v2/ { forest_kserve; }
    location /predict/ { forest_predict; }
    location = /metrics { forest_metrics; }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(http_config => $HttpConfig) if !defined $block->http_config;
    $block->set_value(config => $Config) if !defined $block->config;
});

sub infer {
    my ($model, $from, $n, %opt) = @_;
    "POST /v2/models/$model/infer\n" . ForestT::kserve_json(ForestT::input_rows('xgb_binary', $from, $n), %opt);
}

sub proba { ForestT::json_like({ outputs => [ForestT::kserve_output('xgb_binary', 'expected', 'proba', @_)] }) }

# The counters of model $a equal those of $b (both served the same requests).
sub same_counts {
    my ($a, $b, $requests, $rows) = @_;
    return ForestT::metrics_like(sub {
        my ($m) = @_;
        for my $name (qw(nv_inference_request_success nv_inference_count nv_inference_exec_count
                         ngx_forest_batch_size_count ngx_forest_batch_size_sum
                         ngx_forest_queue_duration_seconds_count ngx_forest_request_duration_seconds_count)) {
            my ($va, $vb) = map { ForestT::metric($m, $name, $_) // 'none' } $a, $b;
            return "$name: $a $va, $b $vb" if $va ne $vb;
        }
        my $ok = ForestT::metric($m, 'nv_inference_request_success', $a);
        return "nv_inference_request_success $ok, want $requests" if $ok != $requests;
        my $count = ForestT::metric($m, 'nv_inference_count', $a);
        return "nv_inference_count $count, want $rows" if $count != $rows;
        my $workers = 0;
        $workers += $m->{$_} for grep { /^ngx_forest_worker_rows_total\{/ } keys %$m;
        return "ngx_forest_worker_rows_total adds up to $workers, want " . 2 * $rows
            if $workers != 2 * $rows;
        return undef;
    });
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a batch within inline_max runs on the event loop, with the reference answers
--- request eval
main::infer('inl', 0, 200)
--- response_body_filters eval
main::proba(0, 200)
--- response_body: OK
--- error_log eval
[qr/forest batch \S+ dispatch: model "inl", 200 rows of 1 requests/,
 qr/forest batch \S+ runs on the event loop: \d+ ns predicted, inline_max 60000000 us/,
 qr/forest batch \S+ done: rc:0, 200 rows, 1 requests still waiting/]
--- no_error_log
[error]
goes to a thread
forest runner post



=== TEST 2: inline_max=0: the same batch on a thread, the same answers
--- request eval
main::infer('thr', 0, 200)
--- response_body_filters eval
main::proba(0, 200)
--- response_body: OK
--- error_log eval
[qr/forest batch \S+ goes to a thread, inline_max 0 us/,
 qr/forest runner post \S+/,
 qr/forest batch \S+ done: rc:0, 200 rows/]
--- no_error_log
[error]
runs on the event loop



=== TEST 3: a batch over the bound goes to a thread
--- request eval
main::infer('tiny', 0, 200)
--- response_body_filters eval
main::proba(0, 200)
--- response_body: OK
--- error_log eval
[qr/forest batch \S+ goes to a thread, inline_max 1 us/,
 qr/forest runner post \S+/]
--- no_error_log
[error]
runs on the event loop



=== TEST 4: the two paths give byte-identical answers, margins and the simple API too
--- request eval
[main::infer('inl', 17, 31), main::infer('thr', 17, 31),
 "POST /predict/inl?margin=1\n" . ForestT::rows_json(ForestT::input_rows('xgb_binary', 5, 9)),
 "POST /predict/thr?margin=1\n" . ForestT::rows_json(ForestT::input_rows('xgb_binary', 5, 9))]
--- response_body_filters eval
my @bodies;
my $i = 0;
sub {
    my $body = shift;
    $body =~ s/"model_name":"(?:inl|thr)"/"model_name":"M"/;
    push @bodies, $body;
    my $n = $i++;
    return 'OK' if $n % 2 == 0;
    return $bodies[$n] eq $bodies[$n - 1] ? 'OK' : "differ:\n$bodies[$n - 1]\n$bodies[$n]";
}
--- response_body eval
[('OK') x 4]
--- no_error_log
[error]



=== TEST 5: contributions go to a thread whatever the bound
--- request eval
main::infer('inl', 0, 2, outputs => '[{"name":"output__0"},{"name":"treeshap_output"}]')
--- response_body_filters eval
ForestT::json_like({ outputs => [ForestT::kserve_output('xgb_binary', 'expected', 'proba', 0, 2),
    { name => 'treeshap_output', datatype => 'FP32', shape => [2, 21], data => ForestT::any_value() }] })
--- response_body: OK
--- error_log eval
qr/forest batch \S+ goes to a thread, inline_max 60000000 us/
--- no_error_log
[error]
runs on the event loop



=== TEST 6: leaf indices stay on the loop (counted as a second walk of the trees)
--- request eval
main::infer('inl', 0, 2, outputs => '[{"name":"output__0"},{"name":"leaf_index"}]')
--- response_body_filters eval
ForestT::json_like({ outputs => [ForestT::kserve_output('xgb_binary', 'expected', 'proba', 0, 2),
    { name => 'leaf_index', datatype => 'INT32', shape => ForestT::any_value(), data => ForestT::any_value() }] })
--- response_body: OK
--- error_log eval
qr/forest batch \S+ runs on the event loop/
--- no_error_log
[error]
goes to a thread



=== TEST 7: a request over max_batch_size fills its batch in its handler: it runs on the loop after it
--- request eval
main::infer('full', 40, 10)
--- response_body_filters eval
main::proba(40, 10)
--- response_body: OK
--- error_log eval
[qr/forest batch \S+ dispatch: model "full", 10 rows of 1 requests/,
 qr/forest batch \S+ runs on the event loop/]
--- no_error_log
[error]
goes to a thread



=== TEST 8: metrics count inline batches as they count threaded ones
--- request eval
[main::infer('inl', 0, 3), main::infer('thr', 0, 3), main::infer('inl', 3, 17),
 main::infer('thr', 3, 17), "GET /metrics"]
--- response_body_filters eval
ForestT::per_request((sub { 'OK' }) x 4, main::same_counts('inl', 'thr', 2, 20))
--- response_body eval
[('OK') x 5]
--- no_error_log
[error]
