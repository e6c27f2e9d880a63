# /metrics: Triton's metric names and labels, summed over all workers through
# shared memory, plus the batch-size histogram.
use FindBin;
use lib "$FindBin::Bin/inc";
use ForestT;
use Test::Nginx::Socket 'no_plan';

master_on();
workers(2);

our $HttpConfig = <<'_EOC_';
    forest_model reg   $TEST_NGINX_SHARED/models/xgb_reg.json;
    forest_model fraud $TEST_NGINX_SHARED/models/xgb_binary.json;
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

sub infer { my ($model, $csv, $from, $n) = @_;
    "POST /v2/models/$model/infer\n" . ForestT::kserve_json(ForestT::input_rows($csv, $from, $n)) }

# 6 good requests (1+2+3+4+5+6 = 21 rows) and 2 bad ones on reg, spread over
# connections (so over both workers), then /metrics.
our @Requests = ((map { infer('reg', 'xgb_reg', 0, $_) } 1 .. 6),
                 "POST /v2/models/reg/infer\n{\"inputs\": [{\"name\": \"input__0\", \"shape\": [1, 2], \"datatype\": \"FP32\", \"data\": [1, 2]}]}",
                 "POST /predict/reg\n{\"instances\": [[1, 2]]}");

no_shuffle();
run_tests();

__DATA__

=== TEST 1: counters summed over both workers
--- request eval
[@main::Requests, "GET /metrics"]
--- error_code eval
[(200) x 6, 400, 400, 200]
--- response_body_filters eval
ForestT::per_request((sub { 'OK' }) x 8, ForestT::metrics_like(sub {
    my $m = shift;
    my %want = (nv_inference_request_success => 6, nv_inference_request_failure => 2,
                nv_inference_count => 21);
    for my $name (sort keys %want) {
        my $v = ForestT::metric($m, $name, 'reg') // 'none';
        return "$name $v, want $want{$name}" if $v ne $want{$name};
    }
    my $exec = ForestT::metric($m, 'nv_inference_exec_count', 'reg') // 'none';
    return "nv_inference_exec_count $exec, want 1..6" if $exec !~ /^\d+$/ || $exec < 1 || $exec > 6;
    for my $name (qw(nv_inference_request_duration_us nv_inference_queue_duration_us
                     nv_inference_compute_infer_duration_us)) {
        my $v = ForestT::metric($m, $name, 'reg') // 'none';
        return "$name $v, want a positive count of microseconds" if $v !~ /^\d+(?:\.\d+)?(?:e\+?\d+)?$/ || $v <= 0 && $name ne 'nv_inference_queue_duration_us';
    }
    my $fraud = ForestT::metric($m, 'nv_inference_request_success', 'fraud') // 'none';
    return "fraud has nv_inference_request_success $fraud, want 0" if $fraud ne '0';
    return undef;
}))
--- response_body eval
[('OK') x 9]
--- no_error_log
[error]



=== TEST 2: exposition format: TYPE lines, content type, batch-size histogram
--- request eval
[main::infer('fraud', 'xgb_binary', 0, 3), main::infer('fraud', 'xgb_binary', 0, 17), "GET /metrics"]
--- response_headers_like eval
["Content-Type: .*", "Content-Type: .*", "Content-Type: text/plain.*"]
--- response_body_filters eval
ForestT::per_request((sub { 'OK' }) x 2, ForestT::metrics_like(sub {
    my ($m, $text) = @_;
    for my $name (qw(nv_inference_request_success nv_inference_request_failure nv_inference_count
                     nv_inference_exec_count nv_inference_request_duration_us
                     nv_inference_queue_duration_us nv_inference_compute_infer_duration_us)) {
        return "no '# TYPE $name counter' line" if $text !~ /^# TYPE $name counter$/m;
    }
    my @buckets = grep { /^ngx_forest_batch_size_bucket\{/ && /model="fraud"/ } keys %$m;
    return "no batch-size histogram buckets for fraud" if !@buckets;
    my ($inf) = grep { /le="\+Inf"/ } @buckets;
    return "no +Inf bucket" if !$inf;
    return "+Inf bucket $m->{$inf}, want 2 batches" if $m->{$inf} != 2;
    my ($count) = grep { /^ngx_forest_batch_size_count\{/ && /model="fraud"/ } keys %$m;
    return "no histogram _count" if !$count;
    my ($sum) = grep { /^ngx_forest_batch_size_sum\{/ && /model="fraud"/ } keys %$m;
    return "no histogram _sum" if !$sum;
    return "histogram _sum $m->{$sum}, want 20 rows" if $m->{$sum} != 20;
    return undef;
}))
--- response_body eval
[('OK') x 3]



=== TEST 3: metrics on one worker are visible from the other (shared memory)
--- request eval
[(map { main::infer('fraud', 'xgb_binary', $_, 1) } 0 .. 9), (map { "GET /metrics" } 1 .. 4)]
--- response_body_filters eval
ForestT::per_request((sub { 'OK' }) x 10, (ForestT::metrics_like(sub {
    my $v = ForestT::metric(shift, 'nv_inference_request_success', 'fraud') // 'none';
    $v eq '10' ? undef : "nv_inference_request_success $v, want 10" })) x 4)
--- response_body eval
[('OK') x 14]



=== TEST 4: request and queue time histograms: buckets, sums and counts add up
--- request eval
[@main::Requests, "GET /metrics"]
--- error_code eval
[(200) x 6, 400, 400, 200]
--- response_body_filters eval
ForestT::per_request((sub { 'OK' }) x 8, ForestT::metrics_like(sub {
    my ($m, $text) = @_;
    my @le = (qw(0.00005 0.0001 0.00025 0.0005 0.001 0.0025 0.005 0.01 0.025 0.05 0.1
                 0.25 0.5 1 2.5 5), '+Inf');
    # NAME for reg: the request's count, its total in microseconds
    my %want = (ngx_forest_request_duration_seconds =>
                    [8, ForestT::metric($m, 'nv_inference_request_duration_us', 'reg')],
                ngx_forest_queue_duration_seconds =>
                    [6, ForestT::metric($m, 'nv_inference_queue_duration_us', 'reg')]);
    for my $name (sort keys %want) {
        return "no '# TYPE $name histogram' line" if $text !~ /^# TYPE $name histogram$/m;
        for my $model (qw(reg fraud)) {
            my ($count, $us) = $model eq 'reg' ? @{$want{$name}} : (0, 0);
            my %b = map { /le="([^"]+)"/ ? ($1 => $m->{$_}) : () }
                    grep { /^${name}_bucket\{/ && /model="$model",version="1"/ } keys %$m;
            my @got = sort { ($a eq '+Inf' ? 9e9 : $a) <=> ($b eq '+Inf' ? 9e9 : $b) } keys %b;
            return "$name $model: le @got, want @le" if "@got" ne "@le";
            for my $i (1 .. $#le) {
                return "$name $model: bucket le=$le[$i] $b{$le[$i]} below le=$le[$i-1] $b{$le[$i-1]}"
                    if $b{$le[$i]} < $b{$le[$i-1]};
            }
            my $c = ForestT::metric($m, "${name}_count", $model) // 'none';
            return "$name $model: _count $c, +Inf bucket $b{'+Inf'}, want $count"
                if $c ne $count || $b{'+Inf'} ne $count;
            my $sum = ForestT::metric($m, "${name}_sum", $model) // 'none';
            return "$name $model: _sum $sum s, want $us us"
                if $sum !~ /^\d+(?:\.\d+)?$/ || abs($sum * 1e6 - $us) > 0.5;
        }
    }
    return undef;
}))
--- response_body eval
[('OK') x 9]
--- no_error_log
[error]



=== TEST 5: per-worker counts: one slot per worker, adding up to the models' totals
--- request eval
[@main::Requests, main::infer('fraud', 'xgb_binary', 0, 7), "GET /metrics"]
--- error_code eval
[(200) x 6, 400, 400, 200, 200]
--- response_body_filters eval
ForestT::per_request((sub { 'OK' }) x 9, ForestT::metrics_like(sub {
    my ($m, $text) = @_;
    my %total = (requests => 0, rows => 0);
    for my $model (qw(reg fraud)) {
        $total{requests} += ForestT::metric($m, $_, $model) // 0
            for qw(nv_inference_request_success nv_inference_request_failure);
        $total{rows} += ForestT::metric($m, 'nv_inference_count', $model) // 0;
    }
    return "totals $total{requests} requests, $total{rows} rows, want 9 and 28"
        if $total{requests} != 9 || $total{rows} != 28;
    for my $what (qw(requests rows)) {
        my $name = "ngx_forest_worker_${what}_total";
        return "no '# TYPE $name counter' line" if $text !~ /^# TYPE $name counter$/m;
        my @keys = sort grep { /^$name\{/ } keys %$m;
        my @want = map { "$name\{worker=\"$_\"}" } 0, 1;
        return "$name: @keys, want @want" if "@keys" ne "@want";
        my $sum = 0;
        $sum += $m->{$_} for @keys;
        return "$name adds up to $sum, want $total{$what}" if $sum != $total{$what};
    }
    return undef;
}))
--- response_body eval
[('OK') x 10]
--- no_error_log
[error]
