# Hostile requests: every parser of untrusted bytes answers a clear 4xx with a
# message saying what was wrong, and nothing crashes, leaks or hangs.
# Truncated and invalid JSON, 10^6-deep nesting, numbers past float32,
# NaN/Infinity tokens, strings where numbers belong, wrong shapes, binary
# sizes that lie, negative and enormous shapes, chunked bodies, bodies over
# client_max_body_size, 10^6 rows against forest_max_rows, unknown models and
# path tricks in model names.  Every block also checks that the error log has
# no [alert]/[crit]/[emerg] and no worker killed by a signal.
use FindBin;
use lib "$FindBin::Bin/inc";
use ForestT;
use Test::Nginx::Socket 'no_plan';
use IO::Socket::INET ();
use IO::Select ();

our $HttpConfig = <<'_EOC_';
    forest_model fraud $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on;
    forest_model named $TEST_NGINX_SHARED/models/lgb_binary.txt;
    forest_model capped $TEST_NGINX_SHARED/models/xgb_binary.json;
_EOC_

our $Config = <<'_EOC_';
    location /v2 { forest_kserve; }
    location /v2/models/capped/ { forest_kserve; client_max_body_size 4k; lingering_timeout 200ms; }
    location /predict/ { forest_predict; }
    location /few/ { forest_predict; forest_max_rows 1000; client_max_body_size 100m; }
_EOC_

# what no block may log: a crash, a worker killed, an internal failure
our @NoErrorLog = ('[alert]', '[crit]', '[emerg]', 'signal', 'forest: 500');

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(http_config => $HttpConfig) if !defined $block->http_config;
    $block->set_value(config => $Config) if !defined $block->config;
    $block->set_value(no_error_log => [@NoErrorLog]) if !defined $block->no_error_log;
});

our $Row = ForestT::input_rows('xgb_binary', 0, 1);
our $Ok = ForestT::kserve_json($Row);
our $Zeros = '[' . join(',', (0) x 20) . ']';

# KServe request whose input__0 carries $data (JSON text) for $shape.
sub ks {
    my ($data, %o) = @_;
    my $shape = $o{shape} // '[1,20]';
    my $dtype = $o{dtype} // 'FP32';
    return "POST /v2/models/fraud/infer\n"
        . qq({"inputs":[{"name":"input__0","shape":$shape,"datatype":"$dtype","data":$data}]});
}

# $Zeros with its first value replaced by the token $v.
sub zeros_with { my $v = shift; (my $d = $Zeros) =~ s/^\[0/[$v/; $d }

sub err { ForestT::json_like({ error => $_[0] }) }

# Binary extension request: JSON header (with $bsize as binary_data_size,
# $shape) then $nbytes of FP32 data; headers may override the header length.
sub binary_request {
    my (%o) = @_;
    my $bin = pack 'f<*', map { $_ // 0 } @{ $Row->[0] };
    $bin = substr($bin x 2, 0, $o{nbytes}) if defined $o{nbytes};
    my $json = '{"inputs":[{"name":"input__0","shape":' . ($o{shape} // '[1,20]')
        . ',"datatype":"' . ($o{dtype} // 'FP32') . '","parameters":{"binary_data_size":'
        . ($o{bsize} // 80) . '}}]}';
    my $body = $json . $bin . ($o{extra} // '');
    my $jl = $o{json_len} // length $json;
    return ForestT::http_request('POST', $o{uri} // '/v2/models/fraud/infer', $body,
                                 "Inference-Header-Content-Length: $jl");
}

# input__0 ($Row, FP32) and a base_margin as binary data: %o shape, dtype,
# size (its binary_data_size) and bytes (zero bytes sent for it).
sub bm_binary_request {
    my (%o) = @_;
    my $json = '{"inputs":[{"name":"input__0","shape":[1,20],"datatype":"FP32",'
        . '"parameters":{"binary_data_size":80}},{"name":"base_margin","shape":'
        . ($o{shape} // '[1]') . ',"datatype":"' . ($o{dtype} // 'FP32')
        . '","parameters":{"binary_data_size":' . $o{size} . '}}]}';
    my $bin = pack('f<*', map { $_ // 0 } @{ $Row->[0] }) . ("\0" x $o{bytes});
    return ForestT::http_request('POST', '/v2/models/fraud/infer', $json . $bin,
                                 'Inference-Header-Content-Length: ' . length $json);
}

# A BYTES input__0 [1, 4] as binary data for model strcat: $bin as sent,
# $size its binary_data_size (default: its length).
sub bytes_request {
    my ($bin, $size) = @_;
    my $json = '{"inputs":[{"name":"input__0","shape":[1,4],"datatype":"BYTES",'
        . '"parameters":{"binary_data_size":' . ($size // length $bin) . '}}]}';
    return ForestT::http_request('POST', '/v2/models/strcat/infer', $json . $bin,
                                 'Inference-Header-Content-Length: ' . length $json);
}
sub strings { join '', map { pack('V', length $_) . $_ } @_ }

our $StrcatConfig = $HttpConfig
    . '    forest_model strcat $TEST_NGINX_FOREST_ROOT/tests/models/xgb3_strcat.json;' . "\n";

sub chunked {
    my ($body, $size) = @_;
    my $out = '';
    for (my $i = 0; $i < length $body; $i += $size) {
        my $piece = substr($body, $i, $size);
        $out .= sprintf("%x\r\n%s\r\n", length $piece, $piece);
    }
    return $out . "0\r\n\r\n";
}

sub chunked_request {
    my ($uri, $chunks) = @_;
    return "POST $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        . "Transfer-Encoding: chunked\r\n\r\n$chunks";
}

# Sends $data, half-closes, and returns what came back before the server
# closed (or '' on timeout).
our $Got;
sub send_half_closed {
    my ($data, $timeout) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $ENV{TEST_NGINX_SERVER_PORT}, Proto => 'tcp') or return "connect: $!";
    binmode $s;
    syswrite($s, $data);
    shutdown($s, 1);
    my $sel = IO::Select->new($s);
    my $resp = '';
    while ($sel->can_read($timeout)) {
        my $n = sysread($s, my $buf, 65536);
        last if !$n;
        $resp .= $buf;
    }
    close $s;
    return $resp;
}

our $ExpectedRow0 = ForestT::json_like({ outputs => [ForestT::kserve_output('xgb_binary', 'expected', 'proba', 0, 1)] });

no_shuffle();
run_tests();

__DATA__

=== TEST 1: truncated and invalid JSON (KServe): 400 naming the JSON error
--- request eval
["POST /v2/models/fraud/infer\n" . substr($main::Ok, 0, length($main::Ok) - 3),
 "POST /v2/models/fraud/infer\n{inputs:",
 "POST /v2/models/fraud/infer\n",
 "POST /v2/models/fraud/infer\n$main::Ok trailing",
 "POST /v2/models/fraud/infer\n" . '{"inputs":[{"name":"input__0","shape":[1,20],"datatype":"FP32","data":[0.5,',
 "POST /v2/models/fraud/infer\n\xff\xfe{}"]
--- error_code eval
[(400) x 6]
--- response_body_filters eval
ForestT::per_request(main::err(qr/^invalid JSON: .*premature EOF/), main::err(qr/^invalid JSON: lexical error/),
 main::err(qr/^the request body is empty$/), main::err(qr/^invalid JSON: .*trailing garbage/),
 main::err(qr/^invalid JSON: .*premature EOF/), main::err(qr/^invalid JSON/))
--- response_body eval
[('OK') x 6]



=== TEST 2: truncated and invalid JSON (simple API)
--- request eval
["POST /predict/fraud\n[[0.5,0.5", "POST /predict/fraud\n[[0.5,]]", "POST /predict/fraud\n",
 "POST /predict/fraud\n{\"instances\":[$main::Zeros"]
--- error_code eval
[(400) x 4]
--- response_body_filters eval
ForestT::per_request(main::err(qr/^invalid JSON: .*premature EOF/), main::err(qr/^invalid JSON/),
 main::err(qr/^the request body is empty$/), main::err(qr/^invalid JSON: .*premature EOF/))
--- response_body eval
[('OK') x 4]



=== TEST 3: 10^6-deep nesting is refused where the module reads, read to its end where ignored
--- request eval
[main::ks('[' x 1000000), "POST /v2/models/fraud/infer\n" . ('{"a":' x 1000000),
 "POST /predict/fraud\n" . ('[' x 1000000), "POST /predict/fraud\n" . '{"instances":' . ('[' x 1000000),
 "POST /predict/named\n" . ('{"a":' x 1000000)]
--- error_code eval
[(400) x 5]
--- response_body_filters eval
ForestT::per_request(main::err(qr/^input__0 data is nested deeper than its shape \[rows, 20\]$/),
 main::err(qr/^invalid JSON: parse error: premature EOF$/),
 main::err(qr/^row 0, feature 0: an array is not a number/),
 main::err(qr/^row 0, feature 0: an array is not a number/),
 main::err(qr/^row 0: model named has no feature named "a"$/))
--- response_body eval
[('OK') x 5]
--- timeout: 20



=== TEST 4: numbers past float32's range are refused; FP64's range and underflow are not
--- request eval
[main::ks(main::zeros_with('1e400')), main::ks(main::zeros_with('-1e400')),
 main::ks(main::zeros_with('1e39')), main::ks(main::zeros_with('1e400'), dtype => 'FP64'),
 main::ks(main::zeros_with('300'), dtype => 'INT8'), main::ks(main::zeros_with('1' x 1000)),
 "POST /predict/fraud\n[" . main::zeros_with('1e400') . "]",
 "POST /predict/named\n" . '{"instances":[{"f3":-1e39}]}',
 main::ks($main::Zeros), main::ks(main::zeros_with('1e-400')),
 main::ks(main::zeros_with('1e300'), dtype => 'FP64')]
--- error_code eval
[(400) x 8, 200, 200, 200]
--- response_body_filters eval
ForestT::per_request(main::err(qr/^input__0 is FP32 but its data holds inf, outside the type's range$/),
 main::err(qr/^input__0 is FP32 but its data holds -inf, outside the type's range$/),
 main::err(qr/^input__0 is FP32 but its data holds 1e\+39, outside the type's range$/),
 main::err(qr/^input__0 is FP64 but its data holds inf, outside the type's range$/),
 main::err(qr/^input__0 is INT8 but its data holds 300, outside the type's range$/),
 main::err(qr/^a number in the JSON is longer than 320 characters$/),
 main::err(qr/^row 0, feature 0: 1e400 is outside float32's range$/),
 main::err(qr/^row 0, feature "f3": -1e39 is outside float32's range$/),
 ForestT::remember('zeros'), ForestT::same_as('zeros'),
 ForestT::json_like({ outputs => [{ shape => [1, 2] }] }))
--- response_body eval
[('OK') x 11]



=== TEST 5: NaN and Infinity tokens: 400 saying to send null; null is a missing value
--- request eval
[main::ks(main::zeros_with('NaN')), main::ks(main::zeros_with('Infinity')),
 main::ks(main::zeros_with('-Infinity')), "POST /predict/fraud\n[" . main::zeros_with('NaN') . "]",
 main::ks(main::zeros_with('null'))]
--- error_code eval
[400, 400, 400, 400, 200]
--- response_body_filters eval
ForestT::per_request((main::err(qr/^invalid JSON: .*\(NaN and Infinity are not JSON: send null for a missing value\)$/)) x 4,
 ForestT::json_like({ outputs => [{ shape => [1, 2] }] }))
--- response_body eval
[('OK') x 5]



=== TEST 6: strings, booleans and objects where numbers belong
--- request eval
[main::ks(main::zeros_with('"0.5"')), main::ks($main::Zeros, shape => '["1","20"]'),
 main::ks(main::zeros_with('true')), main::ks(main::zeros_with('{}')),
 "POST /predict/fraud\n[" . main::zeros_with('"0.5"') . "]",
 "POST /predict/named\n" . '{"instances":[{"f2":"x"}]}',
 "POST /v2/models/fraud/infer\n" . '{"id":5,"inputs":[]}',
 "POST /v2/models/fraud/infer\n" . '{"id":"a\u0000b","inputs":[]}']
--- error_code eval
[(400) x 8]
--- response_body_filters eval
ForestT::per_request(main::err(qr/^input__0 data value 0 is a string; values must be numbers/),
 main::err(qr/^each dimension of input__0 "shape" must be an integer from 0 to /),
 main::err(qr/^input__0 is FP32 but its data holds true or false$/),
 main::err(qr/^input__0 data value 0 is an object/),
 main::err(qr/^row 0, feature 0: a string is not a number/),
 main::err(qr/^row 0, feature "f2": a string is not a number/),
 main::err(qr/^"id" must be a string/), main::err(qr/^"id" must be a string \(without NUL\)$/))
--- response_body eval
[('OK') x 8]



=== TEST 7: wrong shapes and wrong request structure
--- request eval
[main::ks($main::Zeros, shape => '[2,20]'), main::ks('[' . ('0,' x 18) . '0]', shape => '[1,19]'),
 main::ks($main::Zeros, shape => '[1,1,20]'), main::ks($main::Zeros, shape => '[20]'),
 main::ks('[]', shape => '[0,20]'),
 "POST /v2/models/fraud/infer\n" . '{"inputs":{}}', "POST /v2/models/fraud/infer\n" . '{"inputs":[]}',
 "POST /v2/models/fraud/infer\n[1,2]", "POST /v2/models/fraud/infer\n42",
 "POST /v2/models/fraud/infer\n" . ($main::Ok =~ s/input__0/input__1/r),
 "POST /v2/models/fraud/infer\n" . ($main::Ok =~ s/\]\}$/,{"name":"input__0","shape":[1,20],"datatype":"FP32","data":$main::Zeros}]}/r),
 "POST /v2/models/fraud/infer\n" . ($main::Ok =~ s/\}$/,"outputs":[{"name":"output__7"}]}/r),
 "POST /predict/fraud\n[[1,2,3]]", "POST /predict/fraud\n{\"instances\":[]}"]
--- error_code eval
[(400) x 14]
--- response_body_filters eval
ForestT::per_request(main::err(qr/^input__0 shape \[2,20\] has 40 values, got 20$/),
 main::err(qr/^input__0 shape \[1,19\]: model fraud expects 20 features$/),
 main::err(qr/^input__0 shape \[1,1,20\] must have two dimensions: \[rows, 20\]$/),
 main::err(qr/^input__0 shape \[20\] must have two dimensions: \[rows, 20\]$/),
 main::err(qr/^input__0 shape \[0,20\] holds no rows$/),
 main::err(qr/^"inputs" is an object; it must be an array$/),
 main::err(qr/^the request has no inputs; model fraud takes input__0$/),
 main::err(qr/^the request is an array; it must be a JSON object$/),
 main::err(qr/^the request is a number; it must be a JSON object$/),
 main::err(qr/^unknown input "input__1": model fraud has the inputs input__0 and base_margin$/),
 main::err(qr/^the request gives input__0 twice$/),
 main::err(qr/^unknown output "output__7": model fraud answers output__0, treeshap_output, leaf_index, treeshap_interactions$/),
 main::err(qr/^row 0 has 3 features, model fraud expects 20$/),
 main::err(qr/^the request holds no rows$/))
--- response_body eval
[('OK') x 14]



=== TEST 8: binary: Inference-Header-Content-Length past the end of the body
--- raw_request eval
main::binary_request(json_len => 100000)
--- error_code: 400
--- response_body_filters eval
main::err(qr/^Inference-Header-Content-Length is 100000, past the end of the \d+-byte body$/)
--- response_body: OK



=== TEST 9: binary: header length shorter than the JSON
--- raw_request eval
main::binary_request(json_len => 10)
--- error_code: 400
--- response_body_filters eval
main::err(qr/^invalid JSON: .*premature EOF/)
--- response_body: OK



=== TEST 10: binary: header length "abc"
--- raw_request eval
ForestT::http_request('POST', '/v2/models/fraud/infer', $main::Ok, 'Inference-Header-Content-Length: abc')
--- error_code: 400
--- response_body_filters eval
main::err(qr/^invalid Inference\-Header\-Content\-Length header$/)
--- response_body: OK



=== TEST 11: binary: header length "-5"
--- raw_request eval
ForestT::http_request('POST', '/v2/models/fraud/infer', $main::Ok, 'Inference-Header-Content-Length: -5')
--- error_code: 400
--- response_body_filters eval
main::err(qr/^invalid Inference\-Header\-Content\-Length header$/)
--- response_body: OK



=== TEST 12: binary: header length "99999999999999999999"
--- raw_request eval
ForestT::http_request('POST', '/v2/models/fraud/infer', $main::Ok, 'Inference-Header-Content-Length: 99999999999999999999')
--- error_code: 400
--- response_body_filters eval
main::err(qr/^invalid Inference\-Header\-Content\-Length header$/)
--- response_body: OK



=== TEST 13: binary: header length "0"
--- raw_request eval
ForestT::http_request('POST', '/v2/models/fraud/infer', $main::Ok, 'Inference-Header-Content-Length: 0')
--- error_code: 400
--- response_body_filters eval
main::err(qr/^Inference\-Header\-Content\-Length is 0: the JSON header is missing$/)
--- response_body: OK



=== TEST 14: binary: binary_data_size not matching the shape
--- raw_request eval
main::binary_request(bsize => 40, nbytes => 40)
--- error_code: 400
--- response_body_filters eval
main::err(qr/^input__0 binary_data_size is 40 but shape \[1,20\] of FP32 takes 80 bytes$/)
--- response_body: OK



=== TEST 15: binary: fewer bytes than binary_data_size
--- raw_request eval
main::binary_request(nbytes => 40)
--- error_code: 400
--- response_body_filters eval
main::err(qr/^input__0: binary_data_size is 80 but the body holds 40 bytes after the JSON header$/)
--- response_body: OK



=== TEST 16: binary: more bytes than binary_data_size
--- raw_request eval
main::binary_request(extra => 'xxxx')
--- error_code: 400
--- response_body_filters eval
main::err(qr/^input__0: the body holds more than its binary_data_size \(80 bytes\) after the JSON header$/)
--- response_body: OK



=== TEST 17: binary: binary_data_size -80
--- raw_request eval
main::binary_request(bsize => '-80')
--- error_code: 400
--- response_body_filters eval
main::err(qr/^input__0 parameters.binary_data_size must be an integer from 0 to /)
--- response_body: OK



=== TEST 18: binary: binary_data_size 18446744073709551616
--- raw_request eval
main::binary_request(bsize => '18446744073709551616')
--- error_code: 400
--- response_body_filters eval
main::err(qr/^input__0 parameters.binary_data_size must be an integer from 0 to /)
--- response_body: OK



=== TEST 19: binary: binary_data_size "80"
--- raw_request eval
main::binary_request(bsize => '"80"')
--- error_code: 400
--- response_body_filters eval
main::err(qr/^input__0 parameters.binary_data_size must be an integer from 0 to /)
--- response_body: OK



=== TEST 20: the same tensor sent correctly as binary is answered (control)
--- raw_request eval
main::binary_request()
--- error_code: 200
--- response_body_filters eval
$main::ExpectedRow0
--- response_body: OK



=== TEST 21: negative and enormous shapes
--- request eval
[main::ks($main::Zeros, shape => '[-1,20]'), main::ks($main::Zeros, shape => '[1e18,20]'),
 main::ks($main::Zeros, shape => '[18446744073709551616,20]'), main::ks($main::Zeros, shape => '[1.5,20]'),
 main::ks($main::Zeros, shape => '[1099511627776,1099511627776]'),
 main::ks($main::Zeros, shape => '[1000000000,20]')]
--- error_code eval
[(400) x 5, 413]
--- response_body_filters eval
ForestT::per_request((main::err(qr/^each dimension of input__0 "shape" must be an integer from 0 to 9007199254740992$/)) x 4,
 main::err(qr/^input__0 shape \[1099511627776,1099511627776\]: model fraud expects 20 features$/),
 main::err(qr/^input__0 has 1000000000 rows; model fraud takes at most 65536 per request$/))
--- response_body eval
[('OK') x 6]



=== TEST 22: an enormous binary shape is refused from its JSON header, before any data
--- raw_request eval
main::binary_request(shape => '[1000000000,20]', bsize => 80000000000)
--- error_code: 413
--- response_body_filters eval
main::err(qr/^input__0 has 1000000000 rows; model fraud takes at most 65536 per request$/)
--- response_body: OK



=== TEST 23: a chunked body (7-byte chunks) is answered like any other
--- raw_request eval
main::chunked_request('/v2/models/fraud/infer', main::chunked($main::Ok, 7))
--- error_code: 200
--- response_body_filters eval
$main::ExpectedRow0
--- response_body: OK



=== TEST 24: a chunked binary-extension body
--- raw_request eval
my $r = main::binary_request();
my ($head, $body) = split /\r\n\r\n/, $r, 2;
$head =~ s/\r\nContent-Length: \d+//;
"$head\r\nTransfer-Encoding: chunked\r\n\r\n" . main::chunked($body, 13)
--- error_code: 200
--- response_body_filters eval
$main::ExpectedRow0
--- response_body: OK



=== TEST 25: broken chunked framing: a KServe 400 (the core logs why)
--- raw_request eval
main::chunked_request('/v2/models/fraud/infer', "5\r\n{\"inp\r\nzz\r\n0\r\n\r\n")
--- error_code: 400
--- response_body_filters eval
main::err(qr/^the request body is not valid chunked encoding$/)
--- response_body: OK
--- error_log
client sent invalid chunked body



=== TEST 26: a chunk size past 2^64
--- raw_request eval
main::chunked_request('/predict/fraud', "ffffffffffffffffffff\r\nxx\r\n0\r\n\r\n")
--- error_code: 400
--- response_body_filters eval
main::err(qr/^the request body is not valid chunked encoding$/)
--- response_body: OK



=== TEST 27: a chunked body cut short by a client that half-closes: closed, nothing logged past info, the server serves on
--- init
my $r = main::send_half_closed(main::chunked_request('/v2/models/fraud/infer', "20\r\n" . substr($main::Ok, 0, 10)), 5);
$main::Got = $r eq '' || $r =~ m{^HTTP/1\.1 400} ? 'OK' : "unexpected answer: " . substr($r, 0, 200);
--- request
GET /v2/health/ready
--- response_body_filters eval
sub { $main::Got }
--- response_body: OK
--- error_log
client prematurely closed connection



=== TEST 28: over client_max_body_size by Content-Length: 413 in JSON
--- request eval
["POST /v2/models/capped/infer\n" . ('x' x 100000)]
--- error_code: 413
--- response_body_filters eval
main::err(qr/^request body of 100000 bytes is larger than client_max_body_size \(4096\)$/)
--- response_body: OK



=== TEST 29: over client_max_body_size, chunked
--- raw_request eval
main::chunked_request('/v2/models/capped/infer', main::chunked(' ' x 100000, 1000))
--- error_code: 413
--- response_body_filters eval
main::err(qr/^request body is larger than client_max_body_size \(4096\)$/)
--- response_body: OK



=== TEST 30: over client_max_body_size with Expect: 100-continue: 413, no 100 Continue
(nginx then waits lingering_timeout for the body it discards, as its core does)
--- raw_request eval
"POST /v2/models/capped/infer HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Length: 99999999\r\n\r\n"
--- error_code: 413
--- response_body_filters eval
main::err(qr/^request body of 99999999 bytes is larger than client_max_body_size \(4096\)$/)
--- response_body: OK



=== TEST 31: 10^6 rows against forest_max_rows 1000 (simple API): 413 at row 1001; 1000 rows pass
--- request eval
my $row = "$main::Zeros,";
["POST /few/fraud\n" . '{"instances":[' . ($row x 999999) . substr($row, 0, -1) . ']}',
 "POST /few/fraud\n" . '{"instances":[' . ($row x 999) . substr($row, 0, -1) . ']}']
--- error_code eval
[413, 200]
--- response_body_filters eval
ForestT::per_request(main::err(qr/^the request has more than 1000 rows; model fraud takes at most 1000 per request$/),
 sub { my $p = eval { ForestT::decode_json(shift)->{predictions} }; ref $p && @$p == 1000 ? 'OK' : 'not 1000 predictions' })
--- response_body eval
[('OK') x 2]
--- timeout: 30



=== TEST 32: 10^6 rows in one KServe JSON request (default forest_max_rows 65536): 413 from the shape
--- request eval
main::ks('[' . ('0,' x 39) . '0]', shape => '[1000000,20]')
--- error_code: 413
--- response_body_filters eval
main::err(qr/^input__0 has 1000000 rows; model fraud takes at most 65536 per request$/)
--- response_body: OK



=== TEST 33: unknown models and versions: 404 naming them
--- request eval
["POST /v2/models/nosuch/infer\n$main::Ok", "GET /v2/models/nosuch/ready", "GET /v2/models/nosuch",
 "POST /v2/models/fraud/versions/7/infer\n$main::Ok", "GET /v2/models/fraud/versions/99999999999999999999999",
 "POST /predict/nosuch\n[[1]]", "POST /predict/\n[[1]]"]
--- error_code eval
[(404) x 7]
--- response_body_filters eval
ForestT::per_request((main::err(qr/^unknown model "nosuch"$/)) x 3, main::err(qr/^unknown version "7" of model "fraud"$/),
 main::err(qr/^unknown version "99999999999999999999999" of model "fraud"$/),
 main::err(qr/^unknown model "nosuch"$/), main::err(qr/^unknown model ""$/))
--- response_body eval
[('OK') x 7]



=== TEST 34: path tricks: dot segments (plain and %2e), encoded names, very long names
--- request eval
["POST /v2/models/../fraud/infer\n$main::Ok", "POST /v2/models/%2e%2e/fraud/infer\n$main::Ok",
 "POST /v2/models/fraud/../nosuch/infer\n$main::Ok",
 "POST /v2/models/fr%61ud/infer\n$main::Ok", "POST /v2/models/fraud%2finfer\n$main::Ok",
 "POST /predict/x/../fraud\n" . ForestT::rows_json($main::Row),
 "POST /v2/models/" . ('a' x 6000) . "/infer\n$main::Ok", "GET /v2/models/a%22b%5c%7d"]
--- error_code eval
[404, 404, 404, 200, 200, 200, 404, 404]
--- response_body_filters eval
ForestT::per_request(main::err(qr{^no endpoint "/v2/fraud/infer"$}), main::err(qr{^no endpoint "/v2/fraud/infer"$}),
 main::err(qr/^unknown model "nosuch"$/), $main::ExpectedRow0, $main::ExpectedRow0,
 ForestT::json_like({ predictions => ForestT::predictions('xgb_binary', 'expected', 'proba', 0, 1) }),
 main::err(qr/^unknown model "a{100,}/), main::err(qr/^unknown model "a"b\\\}"$/))
--- response_body eval
[('OK') x 8]



=== TEST 35: path tricks the core refuses before the module: 400 for NUL and escaping the root, 414 for a 10 kB name
--- request eval
["GET /v2/models/fr%00aud", "GET /v2/models/..%2f..%2f..%2fetc%2fpasswd", "GET /v2/models/" . ('a' x 10000)]
--- error_code eval
[400, 400, 414]



=== TEST 36: a raw NUL byte in the request line
--- raw_request eval
"GET /v2/models/fr\0aud HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
--- error_code: 400



=== TEST 37: a model name cannot forge error log lines (%0a is escaped in the log)
--- request eval
"POST /predict/x%0a[warn]%20forged\n[[1]]"
--- error_code: 404
--- response_body_filters eval
main::err(qr/^unknown model "x\n\[warn\] forged"$/)
--- response_body: OK
--- error_log eval
qr/unknown model "x\\x0a\[warn\] forged"/
--- no_error_log eval
[@main::NoErrorLog, qr/^\[warn\] forged/]



=== TEST 38: a model name cannot forge error log lines (%0d%0a is escaped in the log)
--- request eval
"GET /v2/models/x%0d%0a[warn]%20forged"
--- error_code: 404
--- response_body_filters eval
main::err(qr/^unknown model "x\r\n\[warn\] forged"$/)
--- response_body: OK
--- error_log eval
qr/unknown model "x\\x0d\\x0a\[warn\] forged"/
--- no_error_log eval
[@main::NoErrorLog, qr/^\[warn\] forged/]



=== TEST 39: wrong methods: 405 with Allow
--- request eval
["GET /v2/models/fraud/infer", "PUT /predict/fraud\n[[1]]", "DELETE /v2/models/fraud", "POST /v2/health/live\n{}"]
--- error_code eval
[405, 405, 405, 405]
--- response_headers eval
["Allow: POST", "Allow: POST", "Allow: GET, HEAD", "Allow: GET, HEAD"]
--- response_body_filters eval
ForestT::per_request(main::err(qr/^method GET not allowed here \(allowed: POST\)$/), main::err(qr/^method PUT not allowed here/),
 main::err(qr/^method DELETE not allowed here/), main::err(qr/^method POST not allowed here/))
--- response_body eval
[('OK') x 4]



=== TEST 40: after every hostile request above, a valid one is still answered
--- request eval
"POST /v2/models/fraud/infer\n$main::Ok"
--- response_body_filters eval
$main::ExpectedRow0
--- response_body: OK



=== TEST 41: binary base_margin: a binary_data_size its shape does not take
--- raw_request eval
main::bm_binary_request(size => 8, bytes => 8)
--- error_code: 400
--- response_body_filters eval
main::err('base_margin binary_data_size is 8 but 1 rows of 1 margins of FP32 take 4 bytes')
--- response_body: OK



=== TEST 42: binary base_margin: the body ends before the inputs' binary_data_size
--- raw_request eval
main::bm_binary_request(shape => '[1,1]', dtype => 'FP64', size => 8, bytes => 5)
--- error_code: 400
--- response_body_filters eval
main::err('input__0 and base_margin: their binary_data_size add up to 88 but the body holds 85 bytes after the JSON header')
--- response_body: OK



=== TEST 43: binary BYTES: a string length past the end of binary_data_size
--- http_config eval
$main::StrcatConfig
--- raw_request eval
main::bytes_request(main::strings('1', 'red', '2') . pack('V', 1000) . 'S')
--- error_code: 400
--- response_body_filters eval
main::err('input__0 BYTES data: string 3 is 1000 bytes long, past the end of binary_data_size')
--- response_body: OK



=== TEST 44: binary BYTES: a length cut short
--- http_config eval
$main::StrcatConfig
--- raw_request eval
main::bytes_request(main::strings('1', 'red', '2', 'S') . "\1\0")
--- error_code: 400
--- response_body_filters eval
main::err('input__0 BYTES data: string 4 has no room for its 4-byte length in binary_data_size')
--- response_body: OK



=== TEST 45: binary BYTES: fewer strings than the shape
--- http_config eval
$main::StrcatConfig
--- raw_request eval
main::bytes_request(main::strings('1', 'red', '2'))
--- error_code: 400
--- response_body_filters eval
main::err('input__0 BYTES data holds 3 strings; shape [1,4] takes 4')
--- response_body: OK
