# Dynamic batching: rows of concurrent requests run in one execution (seen in
# /metrics as nv_inference_exec_count < requests), each request answered with
# exactly its own rows in order; a full batch runs without waiting for
# batch_delay; a client gone mid-batch costs nothing.
#
# The concurrent requests are sent by `--- init` (after nginx starts, before
# the block's own request); the block then reads /metrics.
use FindBin;
use lib "$FindBin::Bin/inc";
use ForestT;
use Test::Nginx::Socket 'no_plan';
use Time::HiRes qw(time);

our (@Responses, @Sizes, $Elapsed);

# Sends requests of @sizes rows all at once; request i carries the next
# $sizes[i] reference rows (cycling through the 200).  The first request is
# large, so that the others arrive while it runs whatever the batcher's policy
# for an idle model.
sub fire {
    my ($path, @sizes) = @_;
    my $next = 0;
    my @reqs;
    @Sizes = ();
    for my $n (@sizes) {
        my @idx = map { ($next + $_) % 200 } 0 .. $n - 1;
        $next += $n;
        push @reqs, ForestT::http_request('POST', $path,
            ForestT::kserve_json([map { @{ ForestT::input_rows('xgb_binary', $_, 1) } } @idx]));
        push @Sizes, \@idx;
    }
    my $t0 = time;
    @Responses = ForestT::concurrent($ENV{TEST_NGINX_SERVER_PORT}, 20, @reqs);
    $Elapsed = time - $t0;
}

# Every concurrent request got 200 and its own rows.
sub own_rows {
    for my $i (0 .. $#Responses) {
        my $r = $Responses[$i];
        return "request $i: status $r->{code}: $r->{body}" if $r->{code} != 200;
        my @idx = @{ $Sizes[$i] };
        my @data = map { @{ ForestT::kserve_output('xgb_binary', 'expected', 'proba', $_, 1)->{data} } } @idx;
        my $d = ForestT::json_like({ outputs => [{ shape => [scalar @idx, 2], data => \@data }] })->($r->{body});
        return "request $i (rows $idx[0]..): $d" if $d ne 'OK';
    }
    return undef;
}

sub batched {
    my ($requests, $rows, $max_exec) = @_;
    return ForestT::metrics_like(sub {
        my $m = shift;
        my $why = own_rows();
        return $why if defined $why;
        my $ok = ForestT::metric($m, 'nv_inference_request_success', 'fraudp') // 'none';
        return "nv_inference_request_success $ok, want $requests" if $ok ne $requests;
        my $count = ForestT::metric($m, 'nv_inference_count', 'fraudp') // 'none';
        return "nv_inference_count $count, want $rows" if $count ne $rows;
        my $exec = ForestT::metric($m, 'nv_inference_exec_count', 'fraudp') // 'none';
        return "nv_inference_exec_count $exec, want 1..$max_exec"
            if $exec !~ /^\d+$/ || $exec < 1 || $exec > $max_exec;
        return undef;
    });
}

# Long executions (binary tensors: cheap to parse, long to run) of models
# a, b and c fill one executor thread and a queue of one, then a 1-row
# request of model d comes; all bodies complete at once.
our $QueueModels = <<'_EOC_';
    forest_model a $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on max_batch_size=65536;
    forest_model b $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on max_batch_size=65536;
    forest_model c $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on max_batch_size=65536;
    forest_model d $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on;
_EOC_

sub fill_queue {
    local $ForestT::HoldLastByte = 1;  # second
    my ($big, $len) = ForestT::kserve_binary([map { @{ ForestT::input_rows('xgb_binary', $_ % 200, 1) } } 0 .. 64999]);
    my $one = ForestT::kserve_json(ForestT::input_rows('xgb_binary', 0, 1));
    @Responses = ForestT::concurrent($ENV{TEST_NGINX_SERVER_PORT}, 30,
        (map { ForestT::http_request('POST', "/v2/models/$_/infer", $big, "Inference-Header-Content-Length: $len") } qw(a b c)),
        ForestT::http_request('POST', '/v2/models/d/infer', $one));
}

sub one_busy {
    my @codes = map { $_->{code} } @Responses;
    my @busy = grep { $_->{code} == 503 } @Responses;
    return "statuses @codes: want a 503 (executor queue full), the others 200"
        if !@busy || grep { $_ != 200 && $_ != 503 } @codes;
    return ForestT::json_like({ error => qr/queue/ })->($busy[0]{body});
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: 9 concurrent requests are merged (batch_delay 100ms)
--- http_config
    forest_model fraudp $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on max_batch_size=4096 batch_delay=100ms;
--- config
    location /v2/ { forest_kserve; }
    location = /metrics { forest_metrics; }
--- init
main::fire('/v2/models/fraudp/infer', 2000, (2) x 8);
--- request
GET /metrics
--- response_body_filters eval
main::batched(9, 2016, 8)
--- response_body: OK
--- no_error_log
[error]
[alert]



=== TEST 2: requests of different sizes each get exactly their rows
--- http_config
    forest_model fraudp $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on max_batch_size=4096 batch_delay=100ms;
--- config
    location /v2/ { forest_kserve; }
    location = /metrics { forest_metrics; }
--- init
main::fire('/v2/models/fraudp/infer', 2000, 1, 7, 3, 1, 12, 2, 5, 1, 9, 4);
--- request
GET /metrics
--- response_body_filters eval
main::batched(11, 2045, 10)
--- response_body: OK



=== TEST 3: a full batch (max_batch_size rows) does not wait for batch_delay
--- http_config
    forest_model fraudp $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on max_batch_size=4 batch_delay=10s;
--- config
    location /v2/ { forest_kserve; }
    location = /metrics { forest_metrics; }
--- init
main::fire('/v2/models/fraudp/infer', 2, 2);
--- request
GET /metrics
--- response_body_filters eval
my $check = main::batched(2, 4, 2);
sub { my $r = $check->(shift); $r eq 'OK' && $main::Elapsed > 2 ? "took $main::Elapsed s: waited for batch_delay" : $r }
--- response_body: OK
--- timeout: 15



=== TEST 4: without batch_delay, a lone request runs at once
--- http_config
    forest_model fraudp $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on;
--- config
    location /v2/ { forest_kserve; }
    location = /metrics { forest_metrics; }
--- init
main::fire('/v2/models/fraudp/infer', 3);
--- request
GET /metrics
--- response_body_filters eval
my $check = main::batched(1, 3, 1);
sub { my $r = $check->(shift); $r eq 'OK' && $main::Elapsed > 0.5 ? "took $main::Elapsed s" : $r }
--- response_body: OK



=== TEST 5: a batch_delay under 1 ms is kept to the microsecond: a lone request waits it
--- http_config
    forest_model fraudp $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on batch_delay=800us;
--- config
    location /v2/ { forest_kserve; }
    location = /metrics { forest_metrics; }
--- init
main::fire('/v2/models/fraudp/infer', 2);
--- request
GET /metrics
--- response_body_filters eval
my $check = main::batched(1, 2, 1);
my $queued = ForestT::metrics_like(sub {
    my $q = ForestT::metric(shift, 'nv_inference_queue_duration_us', 'fraudp') // 'none';
    return $q =~ /^\d+$/ && $q >= 800 ? undef : "queued $q us, want >= 800";
});
sub { my $body = shift; my $r = $check->($body); $r eq 'OK' ? $queued->($body) : $r }
--- response_body: OK



=== TEST 6: a client that leaves mid-batch: the others are answered, nothing leaks
--- http_config
    forest_model fraudp $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on max_batch_size=256 batch_delay=200ms;
--- config
    location /v2/ { forest_kserve; }
    location = /metrics { forest_metrics; }
--- init
my $req = ForestT::http_request('POST', '/v2/models/fraudp/infer',
    ForestT::kserve_json(ForestT::input_rows('xgb_binary', 100, 3)));
my @gone = map { IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $ENV{TEST_NGINX_SERVER_PORT}) } 1 .. 3;
syswrite($_, $req) for @gone;
close $_ for @gone;
main::fire('/v2/models/fraudp/infer', 2, 2);
--- request
GET /metrics
--- response_body_filters eval
ForestT::metrics_like(sub { main::own_rows() })
--- response_body: OK
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 7: thread pool queue full: 503 with a KServe error, the rest answered
--- main_config
    thread_pool fpool threads=1 max_queue=1;
--- http_config eval
"    forest_thread_pool fpool;\n$main::QueueModels"
--- config
    location /v2/ { forest_kserve; }
--- init
main::fill_queue();
--- request
GET /v2/health/live
--- response_body_filters eval
\&main::one_busy
--- response_body: OK
--- timeout: 30



=== TEST 8: the module's own batch threads: queue full gives 503, the rest answered
--- http_config eval
"    forest_batch_threads 1 max_queue=1;\n$main::QueueModels"
--- config
    location /v2/ { forest_kserve; }
--- init
main::fill_queue();
--- request
GET /v2/health/live
--- response_body_filters eval
\&main::one_busy
--- response_body: OK
--- error_log eval
qr/\[error\].*forest: the executor queue is full: 1 batches waiting/
--- timeout: 30
