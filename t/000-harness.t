# The harness itself (t/lib's runner or the real Test::Nginx) on plain nginx
# features, so that a broken runner shows here and not as module failures.
use FindBin;
use lib "$FindBin::Bin/inc";
use ForestT;
use Test::Nginx::Socket 'no_plan';

repeat_each(2);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: request, status, headers, body; $TEST_NGINX_* in config
--- config
    location = /t {
        add_header X-Port $TEST_NGINX_SERVER_PORT;
        return 201 "hello\n";
    }
--- request
GET /t
--- error_code: 201
--- response_headers
X-Port: $ServerPort
Content-Type: text/plain
!X-Absent
--- response_body
hello
--- no_error_log
[error]



=== TEST 2: POST body (surrounding white space trimmed), more_headers, response_headers_like, response_body_like with chomp
--- config
    location = /echo {
        return 200 "$request_method $content_length $http_x_test";
    }
--- request
POST /echo
0123456789
--- more_headers
X-Test: yes
--- response_headers_like
Content-Type: text/\w+
--- response_body_like chomp
^POST 10 yes$



=== TEST 3: request eval array, indexed expectations
--- config
    location = /a { return 200 a; }
--- request eval
["GET /a", "GET /missing"]
--- error_code eval
[200, 404]
--- response_body_like eval
["^a\$", "404 Not Found"]



=== TEST 4: error log grep
--- config
    location = /a { return 200 a; }
--- request
GET /missing
--- error_code: 404
--- grep_error_log eval
qr/open\(\) "[^"]+missing" failed/
--- grep_error_log_out eval
qr/missing" failed/



=== TEST 5: pipelined requests on one connection
--- config
    location = /p { return 200 "$request_uri\n"; }
--- pipelined_requests eval
["GET /p?1", "GET /p?2"]
--- response_body eval
["/p?1\n", "/p?2\n"]



=== TEST 6: user_files and response_body_filters
--- user_files
>>> data/x.txt
Some Text
--- config
    location /data/ { root html; }
--- request
GET /data/x.txt
--- response_body_filters eval
sub { uc shift }
--- response_body
SOME TEXT



=== TEST 7: must_die with the configuration error and its line
--- config
    location = /t { no_such_directive_here; }
--- must_die
--- error_log eval
qr/\[emerg\] .*unknown directive "no_such_directive_here" in \S+nginx\.conf:\d+/



=== TEST 8: skip_nginx with a condition that does not hold runs the block
--- skip_nginx: 1: < 0.1.0
--- config
    location = /t { return 200; }
--- request
GET /t



=== TEST 9: error logs are checked after every request, against what it logged
--- config
    location = /a { return 200 a; }
--- request eval
["GET /missing", "GET /a", "GET /missing"]
--- error_code eval
[404, 200, 404]
--- grep_error_log eval
qr/open\(\) "[^"]+missing" failed/
--- grep_error_log_out eval
qr/\A(?:open\(\) "[^"]+missing" failed\n)?\z/



=== TEST 10: a flat list of response_body_filters applies whole to every response
--- config
    location = /a { return 200 a; }
    location = /b { return 200 b; }
--- request eval
["GET /a", "GET /b"]
--- response_body_filters eval
['uc', sub { "<$_[0]>" }]
--- response_body eval
["<A>", "<B>"]



=== TEST 11: a list of lists of response_body_filters gives each request its own
--- config
    location = /a { return 200 a; }
    location = /b { return 200 bb; }
--- request eval
["GET /a", "GET /b"]
--- response_body_filters eval
[['uc'], ['length', sub { "<$_[0]>" }]]
--- response_body eval
["A", "<2>"]
