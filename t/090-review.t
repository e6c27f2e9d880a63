# Defects a close review and hostile testing found, one case (or two) each:
# strings written into JSON unescaped, a metrics zone that fills up over
# reloads with renamed models, 64-bit integer inputs range-checked in
# double, 100 Continue sent before a refusal the headers alone decide,
# binary tensors without Inference-Header-Content-Length called trailing
# garbage, model names no URI reaches, and ignored JSON members held to the
# nesting limit of the members the module reads.
use FindBin;
use lib "$FindBin::Bin/inc";
use ForestT;
use Test::Nginx::Socket 'no_plan';
use Time::HiRes qw(time sleep);

# reloads need a master process
master_on();

our $HttpConfig = <<'_EOC_';
    forest_model fraud $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on;
_EOC_

our $Config = <<'_EOC_';
    location /v2/ { forest_kserve; }
    location /predict/ { forest_predict; }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(http_config => $HttpConfig) if !defined $block->http_config;
    $block->set_value(config => $Config) if !defined $block->config;
    $block->set_value(no_error_log => ['[alert]', '[crit]', 'exited on signal'])
        if !defined $block->no_error_log && !defined $block->must_die;
});

our $Row = ForestT::input_rows('xgb_binary', 0, 1);
our $Zeros = '[' . join(',', (0) x 20) . ']';

sub err { ForestT::json_like({ error => $_[0] }) }

# KServe request for fraud: input__0 of $dtype holding $data (JSON text).
sub ks {
    my ($data, $dtype) = @_;
    return "POST /v2/models/fraud/infer\n"
        . qq({"inputs":[{"name":"input__0","shape":[1,20],"datatype":"$dtype","data":$data}]});
}

# lgb_reg.txt whose objective line holds a quote, a backslash and a tab:
# the loader keeps the line as the model's objective and reads its first
# word.
our $Objective = qq(regression "quoted" back\\slash\tx);
sub odd_objective_model {
    (my $text = ForestT::slurp("$ENV{TEST_NGINX_SHARED}/models/lgb_reg.txt"))
        =~ s/^objective=.*$/objective=$Objective/m;
    return $text;
}

# ---- reloads -------------------------------------------------------------

# A small model, loaded many times per configuration.
our $Small = "$ENV{TEST_NGINX_FOREST_ROOT}/tests/models/xgb3_rf.json";
our $PerConf = 100;
our $ReloadFailure;

sub models_conf {
    my ($gen) = @_;
    return join '', map { "forest_model g${gen}_$_ $Small;\n" } 1 .. $PerConf;
}

sub status_of {
    my ($uri) = @_;
    my ($r) = ForestT::concurrent($ENV{TEST_NGINX_SERVER_PORT}, 2,
                                  ForestT::http_request('GET', $uri));
    return $r->{code};
}

# Waits until generation $gen's models answer; a reload that fails logs an
# [emerg] line instead.
sub wait_generation {
    my ($gen, $log_from) = @_;
    my $end = time + 15;
    while (time < $end) {
        return undef if status_of("/v2/models/g${gen}_$PerConf/ready") == 200;
        my $log = ForestT::slurp("$ENV{TEST_NGINX_SERVER_ROOT}/logs/error.log");
        return "reload to generation $gen failed: $1"
            if substr($log, $log_from) =~ /(\[emerg\][^\n]*)/;
        sleep 0.05;
    }
    return "generation $gen is not served after 15 s";
}

# $n reloads, each of which renames every model; the zone holds about 2000
# models' counters, so without reclaiming those of the models gone a reload
# fails well before the last.  The old workers accept connections until
# they have handled the master's QUIT: each reload waits for them to exit.
sub reload_renamed {
    my ($n) = @_;
    my $root = $ENV{TEST_NGINX_SERVER_ROOT};
    $ReloadFailure = wait_generation(0, 0);
    return if defined $ReloadFailure;
    open my $in, '<', "$root/logs/nginx.pid" or die "pid file: $!";
    chomp(my $master = <$in>);
    for my $gen (1 .. $n) {
        ForestT::spew("$root/html/models.conf", models_conf($gen));
        my $log_from = -s "$root/logs/error.log";
        my @old = ForestT::workers_of($master);
        kill 'HUP', $master;
        $ReloadFailure = wait_generation($gen, $log_from);
        return if defined $ReloadFailure;
        my $end = time + 10;
        sleep 0.02 while time < $end && grep { kill 0, $_ } @old;
    }
}

# ---- 100 Continue ----------------------------------------------------------

# A request that announces a body and waits for 100 Continue before it
# sends it.
sub expecting {
    my ($uri, @headers) = @_;
    return "POST $uri HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        . join('', map { "$_\r\n" } @headers)
        . "Content-Length: 100\r\nExpect: 100-continue\r\n\r\n";
}

# ---- nesting ---------------------------------------------------------------

# JSON text nested $n levels deep
sub deep { my $n = shift; ('[' x $n) . (']' x $n) }

no_shuffle();
run_tests();

__DATA__

=== TEST 1: model configuration: the objective is a JSON string, escaped
--- user_files eval
[["odd.txt", main::odd_objective_model()]]
--- http_config
    forest_model odd $TEST_NGINX_SERVER_ROOT/html/odd.txt;
--- request
GET /v2/models/odd/config
--- response_body_filters eval
ForestT::json_like({ name => 'odd', parameters => { objective => { string_value => $main::Objective } } })
--- response_body: OK



=== TEST 2: reloads that rename every model do not fill the metrics zone
--- user_files eval
[["models.conf", main::models_conf(0)]]
--- http_config
    include $TEST_NGINX_SERVER_ROOT/html/models.conf;
--- init
main::reload_renamed(30);
--- request
GET /v2/models/stats
--- response_body_filters eval
sub {
    return $main::ReloadFailure if defined $main::ReloadFailure;
    my $got = ForestT::decode_json(shift);
    my @names = sort map { $_->{name} } @{ $got->{model_stats} };
    my @want = sort map { "g30_$_" } 1 .. $main::PerConf;
    return "@names" eq "@want" ? 'OK' : "model_stats names: @names[0 .. 2] ...";
}
--- response_body: OK
--- timeout: 120



=== TEST 3: INT64 and UINT64 values just past their range are refused
--- request eval
[main::ks(do { (my $d = $main::Zeros) =~ s/^\[0/[9223372036854775808/; $d }, 'INT64'),
 main::ks(do { (my $d = $main::Zeros) =~ s/^\[0/[18446744073709551616/; $d }, 'UINT64'),
 main::ks(do { (my $d = $main::Zeros) =~ s/^\[0/[9223372036854775807/; $d }, 'INT64')]
--- error_code eval
[400, 400, 200]
--- response_body_filters eval
ForestT::per_request(
    main::err("input__0 is INT64 but its data holds 9223372036854775808, outside the type's range"),
    main::err("input__0 is UINT64 but its data holds 18446744073709551616, outside the type's range"),
    ForestT::json_like({ outputs => [{ name => 'output__0', shape => [1, 2] }] }))
--- response_body eval
['OK', 'OK', 'OK']



=== TEST 4: an unknown model is refused without 100 Continue
--- raw_request eval
main::expecting('/v2/models/nosuch/infer')
--- error_code: 404
--- response_headers
Connection: close
--- response_body_filters eval
main::err('unknown model "nosuch"')
--- response_body: OK



=== TEST 5: a bad Inference-Header-Content-Length is refused without 100 Continue
--- raw_request eval
main::expecting('/v2/models/fraud/infer', 'Inference-Header-Content-Length: lots')
--- error_code: 400
--- response_headers
Connection: close
--- response_body_filters eval
main::err('invalid Inference-Header-Content-Length header')
--- response_body: OK



=== TEST 6: binary tensors without Inference-Header-Content-Length: the header is named
--- raw_request eval
ForestT::http_request('POST', '/v2/models/fraud/infer',
                      (ForestT::kserve_binary($main::Row))[0])
--- error_code: 400
--- response_body_filters eval
main::err('input__0 has binary_data_size but the request has no Inference-Header-Content-Length')
--- response_body: OK



=== TEST 7: a model named "." fails the configuration
--- http_config
    forest_model . $TEST_NGINX_SHARED/models/xgb_binary.json;
--- must_die
--- error_log eval
qr{\[emerg\].*invalid model name "\.": use 1 to 63 of A-Z a-z 0-9 _ \. - \(not "stats", "\." or "\.\."\) in \S+nginx\.conf:\d+}



=== TEST 8: a model named ".." fails the configuration
--- http_config
    forest_model .. $TEST_NGINX_SHARED/models/xgb_binary.json;
--- must_die
--- error_log eval
qr{\[emerg\].*invalid model name "\.\.".* in \S+nginx\.conf:\d+}



=== TEST 9: members the module ignores may nest deeper than those it reads
--- request eval
["POST /v2/models/fraud/infer\n"
   . '{"parameters":{"trace":' . main::deep(40) . '},"inputs":[{"name":"input__0","shape":[1,20],'
   . '"datatype":"FP32","data":' . ForestT::rows_json($main::Row) . ',"extra":{"a":' . main::deep(40) . '}}]}',
 "POST /predict/fraud\n{\"instances\":" . ForestT::rows_json($main::Row) . ',"meta":' . main::deep(1000) . '}']
--- response_body_filters eval
ForestT::per_request(
    ForestT::json_like({ outputs => [ForestT::kserve_output('xgb_binary', 'expected', 'proba', 0, 1)] }),
    ForestT::json_like({ predictions => ForestT::predictions('xgb_binary', 'expected', 'proba', 0, 1) }))
--- response_body eval
['OK', 'OK']
