# Debug-level tracing (NGX_LOG_DEBUG_HTTP, seen with `error_log ... debug`
# in an nginx built --with-debug, as Debian's is): the hook calls, a batch's
# dispatch and completion, the batch_delay clock and the executor threads'
# post and completion each leave a line (inline_max=0: every batch of
# `fraud` goes to a thread; t/041 traces the batches run on the event loop).
use FindBin;
use lib "$FindBin::Bin/inc";
use ForestT;
use Test::Nginx::Socket 'no_plan';

log_level('debug');

our $HttpConfig = <<'_EOC_';
    forest_model fraud  $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on inline_max=0;
    forest_model fraudd $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on batch_delay=2ms;
_EOC_

our $Config = <<'_EOC_';
    location = /hooks { forest_predict fraud;
                        forest_lua_pre  $TEST_NGINX_FOREST_ROOT/t/lua/identity.lua;
                        forest_lua_post $TEST_NGINX_FOREST_ROOT/lua/examples/fraud_post.lua; }
    location /predict/ { forest_predict; }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(http_config => $HttpConfig) if !defined $block->http_config;
    $block->set_value(config => $Config) if !defined $block->config;
});

our $Rows = ForestT::rows_json(ForestT::input_rows('xgb_binary', 0, 2));

no_shuffle();
run_tests();

__DATA__

=== TEST 1: hooks, batch and executor threads trace a request
--- request eval
"POST /hooks\n{\"rows\": $main::Rows}"
--- error_code: 200
--- error_log eval
[qr/forest lua pre "\S+\/t\/lua\/identity\.lua"/,
 'forest lua pre: 2 rows',
 qr/forest batch \S+ goes at the end of this iteration/,
 qr/forest batch \S+ dispatch: model "fraud", 2 rows of 1 requests, margin:0/,
 qr/forest runner post \S+, idle threads:\d+/,
 qr/forest runner complete \S+/,
 qr/forest batch \S+ done: rc:0, 2 rows, 1 requests still waiting, \d+ us computing/,
 qr/forest lua post "\S+\/lua\/examples\/fraud_post\.lua": 2 rows of \d+ columns/,
 qr/forest lua post: \d+ bytes/]
--- no_error_log
[error]



=== TEST 2: a batch_delay batch traces its wait and the clock it arms
--- request eval
"POST /predict/fraudd\n{\"instances\": $main::Rows}"
--- error_code: 200
--- error_log eval
[qr/forest batch \S+ waits 2000 us, until \d+/,
 qr/forest clock armed for \d+/,
 qr/forest batch \S+ dispatch: model "fraudd", 2 rows of 1 requests/]
--- no_error_log
[error]
