# forest_lua_memory and forest_lua_budget: NGINX's size and number slots with
# their bounds (a value out of them fails `nginx -t` naming the line), the
# defaults an http block without them gets (64m, 10000000 instructions), and
# the lowest values accepted.
use FindBin;
use lib "$FindBin::Bin/inc";
use ForestT;
use Test::Nginx::Socket 'no_plan';

our $HttpConfig = <<'_EOC_';
    forest_model fraud $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on;
_EOC_

our $Config = <<'_EOC_';
    location = /id    { forest_predict fraud; forest_lua_pre $TEST_NGINX_FOREST_ROOT/t/lua/identity.lua; }
    location = /alloc { forest_predict fraud; forest_lua_pre $TEST_NGINX_FOREST_ROOT/t/lua/alloc.lua; }
    location = /loop  { forest_predict fraud; forest_lua_pre $TEST_NGINX_FOREST_ROOT/t/lua/loop.lua; }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(http_config => $HttpConfig . ($block->lua_config // ''))
        if !defined $block->http_config;
    $block->set_value(config => $Config) if !defined $block->config;
});

our $Rows = ForestT::rows_json(ForestT::input_rows('xgb_binary', 0, 2));
our $Served = ForestT::json_like({ predictions => ForestT::predictions('xgb_binary', 'expected', 'proba', 0, 2) });

no_shuffle();
run_tests();

__DATA__

=== TEST 1: forest_lua_memory below 512k fails nginx -t
--- lua_config
    forest_lua_memory 511k;
--- must_die
--- error_log eval
qr/\[emerg\].*"forest_lua_memory" must be at least 512k in \S+nginx\.conf:\d+/



=== TEST 2: forest_lua_memory 0 is no way to ask for the default: it fails nginx -t
--- lua_config
    forest_lua_memory 0;
--- must_die
--- error_log eval
qr/\[emerg\].*"forest_lua_memory" must be at least 512k in \S+nginx\.conf:\d+/



=== TEST 3: forest_lua_memory that is no size fails nginx -t
--- lua_config
    forest_lua_memory lots;
--- must_die
--- error_log eval
qr/\[emerg\].*"forest_lua_memory" directive invalid value in \S+nginx\.conf:\d+/



=== TEST 4: forest_lua_budget below 1000 fails nginx -t with the bounds
--- lua_config
    forest_lua_budget 999;
--- must_die
--- error_log eval
qr/\[emerg\].*value must be between 1000 and 2147483647 in \S+nginx\.conf:\d+/



=== TEST 5: forest_lua_budget 0 fails nginx -t with the bounds
--- lua_config
    forest_lua_budget 0;
--- must_die
--- error_log eval
qr/\[emerg\].*value must be between 1000 and 2147483647 in \S+nginx\.conf:\d+/



=== TEST 6: forest_lua_budget past 2^31 - 1 fails nginx -t with the bounds
--- lua_config
    forest_lua_budget 2147483648;
--- must_die
--- error_log eval
qr/\[emerg\].*value must be between 1000 and 2147483647 in \S+nginx\.conf:\d+/



=== TEST 7: forest_lua_budget that is no number fails nginx -t
--- lua_config
    forest_lua_budget 10M;
--- must_die
--- error_log eval
qr/\[emerg\].*"forest_lua_budget" directive invalid number in \S+nginx\.conf:\d+/



=== TEST 8: forest_lua_memory twice fails nginx -t
--- lua_config
    forest_lua_memory 16m;
    forest_lua_memory 32m;
--- must_die
--- error_log eval
qr/\[emerg\].*"forest_lua_memory" directive is duplicate in \S+nginx\.conf:\d+/



=== TEST 9: forest_lua_budget twice fails nginx -t
--- lua_config
    forest_lua_budget 1000000;
    forest_lua_budget 2000000;
--- must_die
--- error_log eval
qr/\[emerg\].*"forest_lua_budget" directive is duplicate in \S+nginx\.conf:\d+/



=== TEST 10: without forest_lua_budget an endless loop stops at the default budget
--- request
POST /loop
{}
--- error_code: 500
--- response_body_like eval
qr/^\{"error":"pre hook: \S+\/t\/lua\/loop\.lua:\d+: exceeded its budget of 10000000 instructions"\}$/



=== TEST 11: without forest_lua_memory a hook may hold 24 MB: the default is 64m
--- request eval
"POST /alloc?mb=24\n{\"rows\": $main::Rows}"
--- response_body_filters eval
$main::Served
--- response_body: OK
--- no_error_log
[error]



=== TEST 12: without forest_lua_memory a hook that needs more than 64m answers 500
--- request eval
"POST /alloc?mb=100\n{\"rows\": $main::Rows}"
--- error_code: 500
--- response_body eval
'{"error":"pre hook: ran out of memory (the Lua state may use 67108864 bytes)"}'



=== TEST 13: the hook of TEST 11 under forest_lua_memory 16m runs out of memory
--- lua_config
    forest_lua_memory 16m;
--- request eval
"POST /alloc?mb=24\n{\"rows\": $main::Rows}"
--- error_code: 500
--- response_body eval
'{"error":"pre hook: ran out of memory (the Lua state may use 16777216 bytes)"}'



=== TEST 14: the lowest values accepted serve a small hook
--- lua_config
    forest_lua_memory 512k;
    forest_lua_budget 1000;
--- request eval
"POST /id\n{\"rows\": $main::Rows}"
--- response_body_filters eval
$main::Served
--- response_body: OK
--- no_error_log
[error]
