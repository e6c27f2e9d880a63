# forest_model_repository: Triton FIL model repositories laid out as the FIL
# backend's documentation and notebooks lay them out (config.pbtxt beside
# numbered version folders holding xgboost.model, xgboost.json, model.txt or
# checkpoint.tl), built here from tests/reference/models and served as they
# are; answers against the libraries' outputs, version policies, the
# repository index with the reason of every model not served, `GET /v2`
# under the README's `location /v2`, config.pbtxt files Triton refuses
# failing the configuration with the file, line and reason, and `nginx -t`
# while nginx runs refusing a broken version of a served model, as the
# reload does.
use FindBin;
use lib "$FindBin::Bin/inc";
use ForestT;
use Test::Nginx::Socket 'no_plan';
use File::Temp qw(tempdir);
use File::Copy qw(copy);
use File::Path qw(make_path);

my $Models = "$ENV{TEST_NGINX_SHARED}/models";
my $Root = tempdir(CLEANUP => 1);

sub param { my ($k, $v) = @_; qq(  { key: "$k" value: { string_value: "$v" } }) }

# folder/config.pbtxt and folder/<version>/<file> copied from a reference model
sub model {
    my ($repo, $name, $config, %versions) = @_;
    make_path("$Root/$repo/$name");
    ForestT::spew("$Root/$repo/$name/config.pbtxt", $config);
    for my $v (keys %versions) {
        my ($from, $file) = @{ $versions{$v} };
        make_path("$Root/$repo/$name/$v");
        if (defined $from) {
            copy("$Models/$from", "$Root/$repo/$name/$v/$file") or die "copy $from: $!";
        } else {
            ForestT::spew("$Root/$repo/$name/$v/$file", "not a model\n");
        }
    }
}

sub fil {
    my (%o) = @_;
    return join "\n", 'backend: "fil"', "max_batch_size: " . ($o{mbs} // 8192),
        'input [', '  {', '    name: "input__0"', '    data_type: TYPE_FP32',
        "    dims: [ $o{in} ]", '  }', ']',
        'output [', '  {', '    name: "output__0"', '    data_type: TYPE_FP32',
        "    dims: [ $o{out} ]", '  }', ']',
        @{ $o{extra} // [] },
        'parameters [', join(",\n", map { param(@$_) } @{ $o{params} }), ']', '';
}

# the FIL backend's README classifier: legacy binary, output_class and
# predict_proba, a KIND_GPU group (no GPU here), FIL's kernel tuning keys
model('main', 'fraud', fil(in => 20, out => 2,
    extra => ['instance_group [{ kind: KIND_GPU }]',
              'dynamic_batching { max_queue_delay_microseconds: 100 }'],
    params => [[model_type => 'xgboost'], [output_class => 'true'], [predict_proba => 'true'],
               [threshold => '0.5'], [storage_type => 'AUTO'], [algo => 'ALGO_AUTO'],
               [threads_per_tree => '1'], [blocks_per_sm => '0']]),
    1 => ['xgb_binary.model', 'xgboost.model'], 2 => ['xgb_binary.json', 'xgboost.model']);
# class ids from XGBoost JSON, on the CPU with cpu_nthread
model('main', 'fraud_class', fil(in => 20, out => 1,
    extra => ['instance_group [{ kind: KIND_CPU count: 2 }]'],
    params => [[model_type => 'xgboost_json'], [output_class => 'true'], [cpu_nthread => '2']]),
    1 => ['xgb_binary.json', 'xgboost.json']);
# a LightGBM regressor
model('main', 'lgb_reg', fil(in => 8, out => 1, mbs => 64,
    params => [[model_type => 'lightgbm'], [output_class => 'false']]),
    1 => ['lgb_reg.txt', 'model.txt']);
# a Treelite checkpoint whose binary predict_proba has dims [1]: P(class 1)
model('main', 'tl', fil(in => 20, out => 1,
    params => [[model_type => 'treelite_checkpoint'], [output_class => 'true'], [predict_proba => 'true']]),
    1 => ['tl_xgb_binary.treelite', 'checkpoint.tl']);
# version policies over versions 1, 2, 3 of a regressor
for my $p (['all', 'all { }'], ['latest2', 'latest { num_versions: 2 }'], ['specific', 'specific { versions: [1, 3, 5] }']) {
    model('main', $p->[0], fil(in => 10, out => 1, extra => ["version_policy: { $p->[1] }"],
        params => [[model_type => 'xgboost_json'], [output_class => 'false']]),
        map { $_ => ['xgb_reg.json', 'xgboost.json'] } 1 .. 3);
}
# a multiclass UBJSON model under another file name, probabilities [4]
model('main', 'multi', fil(in => 12, out => 4, extra => ['default_model_filename: "model.ubj"'],
    params => [[model_type => 'xgboost_ubj'], [output_class => 'true'], [predict_proba => 'true']]),
    7 => ['xgb_multiclass.ubj', 'model.ubj']);
# not served, each with its reason in the index
model('main', 'py', "backend: \"python\"\nmax_batch_size: 8\n", 1 => ['xgb_reg.json', 'model.py']);
model('main', 'broken', fil(in => 10, out => 1, params => [[model_type => 'xgboost_json']]),
    1 => [undef, 'xgboost.json']);
model('main', 'wrong_dims', fil(in => 7, out => 1, params => [[model_type => 'xgboost_json']]),
    1 => ['xgb_reg.json', 'xgboost.json']);

# refused by Triton: each fails the configuration
model('syntax', 'm', "backend: \"fil\"\nmax_batch_size: 8\ninput [ { dims: [ 20 } ]\n");
model('field', 'm', "backend: \"fil\"\n# a comment\nmax_batch: 8\n");
model('named', 'm', "name: \"other\"\nbackend: \"fil\"\n");
model('proba', 'm', fil(in => 20, out => 1, params => [[model_type => 'xgboost_json'], [output_class => 'maybe']]),
    1 => ['xgb_binary.json', 'xgboost.json']);

$ENV{TEST_NGINX_REPO} = "$Root/main";
$ENV{TEST_NGINX_REPO_ROOT} = $Root;

# `nginx -t` itself: the file, its line and the nginx.conf line
{
    my $dir = tempdir(CLEANUP => 1);
    my $bin = $ENV{TEST_NGINX_REAL_BINARY} || $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
    my $load = join '', map { "load_module $_;\n" } split ' ', $ENV{TEST_NGINX_LOAD_MODULES} // '';
    my $nload = () = $load =~ /\n/g;
    local $ENV{LD_PRELOAD} = $ENV{TEST_NGINX_LD_PRELOAD} if $ENV{TEST_NGINX_LD_PRELOAD};
    # nginx -t exits without freeing the configuration it read (the models)
    local $ENV{ASAN_OPTIONS} = join ':', grep { length } $ENV{ASAN_OPTIONS} // '', 'detect_leaks=0';
    ForestT::spew("$dir/nginx.conf", "${load}events {}\nhttp {\n"
        . "    forest_model_repository $Root/syntax;\n}\n");
    my $out = `$bin -t -p $dir/ -c $dir/nginx.conf 2>&1`;
    isnt($? >> 8, 0, 'nginx -t fails on a config.pbtxt with a syntax error');
    like($out, qr{\[emerg\].*\Q$Root\E/syntax/m/config\.pbtxt:3: expected ',' or '\]' in the list "dims", found '\}'},
         'nginx -t names the file, its line and the reason') or diag($out);
    like($out, qr/forest_model_repository in \Q$dir\E\/nginx\.conf:${\($nload + 3)}\b/,
         'nginx -t names the directive\'s line') or diag($out);

    # what is served with a reason, or has no effect here, is told once
    ForestT::spew("$dir/nginx.conf", "${load}events {}\nhttp {\n"
        . "    forest_model_repository $Root/main;\n}\n");
    $out = `$bin -t -p $dir/ -c $dir/nginx.conf 2>&1`;
    is($? >> 8, 0, 'nginx -t passes on a repository with models it cannot serve') or diag($out);
    for my $re (qr{\[notice\].*/fraud/config\.pbtxt: parameters storage_type \(line \d+\), algo \(line \d+\), threads_per_tree \(line \d+\), blocks_per_sm \(line \d+\) tune FIL's own GPU kernels or memory and have no effect here},
                qr{\[notice\].*/py/config\.pbtxt: backend "python" is not served by ngx_forest \(only "fil"\): skipped},
                qr{\[error\].*model "broken" version 1 is unavailable: cannot load}) {
        like($out, $re, 'nginx -t says ' . ($re =~ /(backend|parameters|broken)/)[0]);
        my $n = () = $out =~ /$re/g;
        is($n, 1, 'once');
    }
}

# `nginx -t` while nginx runs: what a reload refuses (a broken version of a
# model the server serves) fails it with the same message; a new model that
# does not load is only unavailable; with nginx stopped, the start's rule
{
    my $dir = tempdir(CLEANUP => 1);
    my $bin = $ENV{TEST_NGINX_REAL_BINARY} || $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
    my $load = join '', map { "load_module $_;\n" } split ' ', $ENV{TEST_NGINX_LOAD_MODULES} // '';
    local $ENV{LD_PRELOAD} = $ENV{TEST_NGINX_LD_PRELOAD} if $ENV{TEST_NGINX_LD_PRELOAD};
    local $ENV{ASAN_OPTIONS} = join ':', grep { length } $ENV{ASAN_OPTIONS} // '', 'detect_leaks=0';
    my $fil = fil(in => 10, out => 1, params => [[model_type => 'xgboost_json']]);
    make_path("$dir/logs", "$dir/repo/m/1");
    ForestT::spew("$dir/repo/m/config.pbtxt", $fil);
    copy("$Models/xgb_reg.json", "$dir/repo/m/1/xgboost.json") or die "copy: $!";
    my $temp = join '', map { "    ${_}_temp_path $dir/logs;\n" } qw(client_body proxy fastcgi uwsgi scgi);
    ForestT::spew("$dir/nginx.conf", "${load}pid $dir/logs/nginx.pid;\n"
        . "error_log $dir/logs/error.log info;\n"
        . ($> == 0 ? "user root;\n" : '') . "events {}\nhttp {\n${temp}    access_log off;\n"
        . "    forest_model_repository $dir/repo;\n}\n");
    my @args = ('-p', "$dir/", '-c', "$dir/nginx.conf");
    my $wait = sub {
        my ($what, $cond) = @_;
        for (1 .. 600) { return 1 if $cond->(); select(undef, undef, undef, 0.05) }
        diag("timed out waiting for $what");
        return 0;
    };
    my $t = sub { my $out = `$bin -t @args 2>&1`; return ($? >> 8, $out) };

    system("$bin @args > $dir/start.out 2>&1");
    is($? >> 8, 0, 'nginx starts with a repository') or diag(ForestT::slurp("$dir/start.out"));
    $wait->('STATE.result', sub { ForestT::slurp("$dir/logs/forest_repository.state.result") =~ /^ready m$/m });

    make_path("$dir/repo/n/1");
    ForestT::spew("$dir/repo/n/config.pbtxt", $fil);
    ForestT::spew("$dir/repo/n/1/xgboost.json", "not a model\n");
    my ($rc, $out) = $t->();
    is($rc, 0, 'nginx -t while nginx runs passes on a new model that does not load') or diag($out);
    like($out, qr{\[error\].*model "n" version 1 is unavailable: cannot load}, 'and names it');

    make_path("$dir/repo/m/2");
    ForestT::spew("$dir/repo/m/2/xgboost.json", "not a model\n");
    my $refused = qr{\[emerg\].*model "m" version 2: cannot load \Q$dir\E/repo/m/2/xgboost\.json: .+; the running configuration stays \(forest_model_repository in \Q$dir\E/nginx\.conf:\d+\)};
    ($rc, $out) = $t->();
    isnt($rc, 0, 'nginx -t while nginx runs fails on a broken version of a served model');
    like($out, $refused, 'nginx -t names the file, the reason and the directive\'s line') or diag($out);

    system("$bin -s reload @args > $dir/reload.out 2>&1");
    $wait->('the reload', sub { ForestT::slurp("$dir/logs/error.log") =~ $refused });
    like(ForestT::slurp("$dir/logs/error.log"), $refused, 'the reload is refused with the same message');
    like(ForestT::slurp("$dir/logs/forest_repository.state.result"), qr/^error .*\n(?s:.*)^ready m$/m,
         'STATE.result keeps the served names after a refused reload');
    ($rc, $out) = $t->();
    isnt($rc, 0, 'nginx -t after the refused reload still fails') or diag($out);

    system("$bin -s quit @args > $dir/quit.out 2>&1");
    $wait->('nginx to stop', sub { !-s "$dir/logs/nginx.pid" });
    ($rc, $out) = $t->();
    is($rc, 0, 'nginx -t with nginx stopped passes, as a start would') or diag($out);
    like($out, qr{\[error\].*model "m" version 2 is unavailable: cannot load}, 'and names the version');
}

our $HttpConfig = <<'_EOC_';
    forest_model_repository $TEST_NGINX_REPO;
_EOC_

our $Config = <<'_EOC_';
    location /v2 { forest_kserve; }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(http_config => $HttpConfig) if !defined $block->http_config;
    $block->set_value(config => $Config) if !defined $block->config;
});

sub infer_json { my ($model, @args) = @_; "POST /v2/models/$model/infer\n" . ForestT::kserve_json(@args) }

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the repository index: every model, the reason of each one not served
--- request eval
["GET /v2/repository/index", "POST /v2/repository/index\n"]
--- response_body_filters eval
sub {
    my $got = ForestT::decode_json($_[0]);
    my %s = map { ($_->{name} . '/' . ($_->{version} // '')) => "$_->{state}: $_->{reason}" } @$got;
    my %want = (
        'fraud/2' => 'READY: ', 'fraud_class/1' => 'READY: ', 'lgb_reg/1' => 'READY: ',
        'tl/1' => 'READY: ', 'multi/7' => 'READY: ',
        'all/1' => 'READY: ', 'all/2' => 'READY: ', 'all/3' => 'READY: ',
        'latest2/2' => 'READY: ', 'latest2/3' => 'READY: ',
        'specific/1' => 'READY: ', 'specific/3' => 'READY: ',
        'specific/5' => qr/^UNAVAILABLE: version_policy names it, but its version folder is missing$/,
        'py/' => qr/^UNAVAILABLE: backend "python" is not served by ngx_forest/,
        'broken/1' => qr{^UNAVAILABLE: cannot load .*/broken/1/xgboost\.json: },
        'wrong_dims/1' => qr{^UNAVAILABLE: .*/wrong_dims/config\.pbtxt:7: input dims \[7\], but .*/wrong_dims/1/xgboost\.json has 10 features$},
    );
    for my $k (sort keys %want) {
        my $w = $want{$k};
        return "$k missing" if !defined $s{$k};
        return "$k: $s{$k}" if ref $w ? $s{$k} !~ $w : $s{$k} ne $w;
    }
    return "more entries: @{[sort keys %s]}" if keys %s != keys %want;
    return 'OK';
}
--- response_body eval
[('OK') x 2]



=== TEST 2: XGBoost legacy binary (model_type xgboost): predict_proba [N, 2], the latest version
--- request eval
main::infer_json('fraud', ForestT::input_rows('xgb_binary', 0, 16))
--- response_body_filters eval
ForestT::json_like({ model_name => 'fraud', model_version => ForestT::jstring('2'),
    outputs => [ForestT::kserve_output('xgb_binary', 'expected', 'proba', 0, 16)] })
--- response_body: OK
--- no_error_log
[warn]



=== TEST 3: XGBoost JSON, output_class true: class ids
--- request eval
main::infer_json('fraud_class', ForestT::input_rows('xgb_binary', 0, 16))
--- response_body_filters eval
ForestT::json_like({ model_name => 'fraud_class',
    outputs => [ForestT::kserve_output('xgb_binary', 'expected', 'class', 0, 16)] })
--- response_body: OK



=== TEST 4: LightGBM regressor, Treelite checkpoint P(class 1) alone, multiclass UBJSON probabilities
--- request eval
[main::infer_json('lgb_reg', ForestT::input_rows('lgb_reg', 0, 8)),
 main::infer_json('tl', ForestT::input_rows('tl_xgb_binary', 0, 8)),
 main::infer_json('multi', ForestT::input_rows('xgb_multiclass', 0, 8))]
--- response_body_filters eval
ForestT::per_request(
 ForestT::json_like({ model_name => 'lgb_reg', outputs => [ForestT::kserve_output('lgb_reg', 'expected', 'value', 0, 8)] }),
 ForestT::json_like({ model_name => 'tl', outputs => [ForestT::kserve_output('tl_xgb_binary', 'expected', 'value', 0, 8)] }),
 ForestT::json_like({ model_name => 'multi', model_version => ForestT::jstring('7'),
     outputs => [ForestT::kserve_output('xgb_multiclass', 'expected', 'proba', 0, 8)] }))
--- response_body eval
[('OK') x 3]



=== TEST 5: version policies: all, latest 2, specific [1, 3]
--- request eval
["GET /v2/models/all", "GET /v2/models/latest2", "GET /v2/models/specific",
 "GET /v2/models/latest2/versions/1/ready", "GET /v2/models/specific/versions/2/ready",
 main::infer_json('specific/versions/1', ForestT::input_rows('xgb_reg', 0, 4))]
--- response_body_filters eval
ForestT::per_request(
 ForestT::json_like({ name => 'all', versions => [ForestT::jstring('1'), ForestT::jstring('2'), ForestT::jstring('3')] }),
 ForestT::json_like({ name => 'latest2', versions => [ForestT::jstring('2'), ForestT::jstring('3')] }),
 ForestT::json_like({ name => 'specific', versions => [ForestT::jstring('1'), ForestT::jstring('3')] }),
 sub { 'OK' }, sub { 'OK' },
 ForestT::json_like({ model_name => 'specific', model_version => ForestT::jstring('1'),
     outputs => [ForestT::kserve_output('xgb_reg', 'expected', 'value', 0, 4)] }))
--- response_body eval
[('OK') x 6]
--- error_code eval
[200, 200, 200, 404, 404, 200]



=== TEST 6: the model configuration shows what config.pbtxt set
--- request
GET /v2/models/fraud/config
--- response_body_filters eval
ForestT::json_like({ name => 'fraud', max_batch_size => 8192,
    input => [{ name => 'input__0', data_type => 'TYPE_FP32', dims => [20] }],
    output => [{ name => 'output__0', data_type => 'TYPE_FP32', dims => [2] }],
    dynamic_batching => { max_queue_delay_microseconds => 100 },
    parameters => ForestT::any_value(),
    version_policy => ForestT::any_value(), platform => ForestT::any_value(),
    backend => ForestT::any_value(), instance_group => ForestT::any_value() })
--- response_body: OK



=== TEST 7: GET /v2 and the repository API under the README's location /v2; load is off by default
--- request eval
["GET /v2", "GET /v2/", "GET /v2/health/ready", "POST /v2/repository/models/fraud/unload\n",
 "POST /v2/repository/models/fraud/bounce\n"]
--- response_body_filters eval
ForestT::per_request(
 ForestT::json_like({ name => 'ngx_forest', version => ForestT::any_value(),
     extensions => ForestT::contains('model_repository', 'model_configuration') }),
 ForestT::json_like({ name => 'ngx_forest', version => ForestT::any_value(), extensions => ForestT::any_value() }),
 sub { 'OK' },
 ForestT::json_like({ error => 'model control is off here (forest_repository_control on; enables load and unload)' }),
 sub { 'OK' })
--- response_body eval
[('OK') x 5]
--- error_code eval
[200, 200, 200, 403, 404]



=== TEST 8: a config.pbtxt with a syntax error fails the configuration
--- http_config
    forest_model_repository $TEST_NGINX_REPO_ROOT/syntax;
--- must_die
--- error_log eval
qr{\[emerg\].*/syntax/m/config\.pbtxt:3: expected ',' or '\]' in the list "dims", found '\}' \(forest_model_repository in \S+nginx\.conf:\d+\)}



=== TEST 9: a field Triton does not know fails the configuration
--- http_config
    forest_model_repository $TEST_NGINX_REPO_ROOT/field;
--- must_die
--- error_log eval
qr{\[emerg\].*/field/m/config\.pbtxt:3: ModelConfig has no field named "max_batch"}



=== TEST 10: a name that is not its folder's fails, as in Triton
--- http_config
    forest_model_repository $TEST_NGINX_REPO_ROOT/named;
--- must_die
--- error_log eval
qr{\[emerg\].*/named/m/config\.pbtxt:1: name "other" does not match the model folder "m"}



=== TEST 11: a FIL parameter with a bad value fails with its line
--- http_config
    forest_model_repository $TEST_NGINX_REPO_ROOT/proba;
--- must_die
--- error_log eval
qr{\[emerg\].*/proba/m/config\.pbtxt:\d+: parameter output_class: "maybe" is not "true" or "false"}



=== TEST 12: a name from a forest_model line and a repository: an error naming both
--- http_config
    forest_model fraud $TEST_NGINX_SHARED/models/xgb_binary.json;
    forest_model_repository $TEST_NGINX_REPO;
--- must_die
--- error_log eval
qr{\[emerg\].*model "fraud" is defined twice: by forest_model in \S+nginx\.conf:\d+ and by forest_model_repository \S+/main in \S+nginx\.conf:\d+}



=== TEST 13: forest_model takes FIL's names: model_type= and output_class=
--- http_config
    forest_model fil $TEST_NGINX_SHARED/models/xgb_binary.model model_type=xgboost output_class=true predict_proba=true;
--- request eval
main::infer_json('fil', ForestT::input_rows('xgb_binary', 0, 4))
--- response_body_filters eval
ForestT::json_like({ model_name => 'fil', outputs => [ForestT::kserve_output('xgb_binary', 'expected', 'proba', 0, 4)] })
--- response_body: OK
