# Loading: the module loads; a missing, corrupt or unsupported model makes
# nginx fail at configuration time naming the file, the reason and the line
# of nginx.conf; device=gpu without a GPU fails clearly; device=auto serves.
# The GPU blocks hide any GPU from nginx (env CUDA_VISIBLE_DEVICES=;, which
# the configuration-time probe honours as the workers do), so they check the
# same on a GPU machine.
use FindBin;
use lib "$FindBin::Bin/inc";
use ForestT;
use Test::Nginx::Socket 'no_plan';
use File::Temp qw(tempdir);

# `nginx -t` itself, on a configuration whose line numbers we know.
{
    my $dir = tempdir(CLEANUP => 1);
    my $models = "$ENV{TEST_NGINX_SHARED}/models";
    my $bin = $ENV{TEST_NGINX_REAL_BINARY} || $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
    my $load = join '', map { "load_module $_;\n" } split ' ', $ENV{TEST_NGINX_LOAD_MODULES} // '';
    my $nload = () = $load =~ /\n/g;
    my %cases = (
        missing => ["forest_model fraud /nonexistent/fraud.json;",
                    qr{/nonexistent/fraud\.json}, qr/No such file or directory/i],
        corrupt => ["forest_model bad $dir/corrupt.json format=xgboost_json;",
                    qr{\Q$dir\E/corrupt\.json}, qr/./],
        unsupported => ["forest_model odd $dir/notamodel.bin;",
                    qr{\Q$dir\E/notamodel\.bin}, qr/format|unsupported|unknown|not recogni[sz]ed/i],
    );
    ForestT::spew("$dir/corrupt.json", substr(ForestT::slurp("$models/xgb_binary.json"), 0, 3000));
    ForestT::spew("$dir/notamodel.bin", "\x00\x01garbage that is no model format\n" x 20);
    for my $case (sort keys %cases) {
        my ($directive, $file_re, $reason_re) = @{ $cases{$case} };
        ForestT::spew("$dir/nginx.conf", "${load}events {}\nhttp {\n    $directive\n}\n");
        my $line = $nload + 3;
        # a sanitizer build loads only with its runtime preloaded
        local $ENV{LD_PRELOAD} = $ENV{TEST_NGINX_LD_PRELOAD} if $ENV{TEST_NGINX_LD_PRELOAD};
        my $out = `$bin -t -p $dir/ -c $dir/nginx.conf 2>&1`;
        isnt($? >> 8, 0, "nginx -t fails on a $case model");
        like($out, qr/\[emerg\].*$file_re/, "nginx -t names the $case file");
        like($out, $reason_re, "nginx -t gives the reason for the $case model");
        like($out, qr/ in \Q$dir\E\/nginx\.conf:$line\b/, "nginx -t names line $line of nginx.conf")
            or diag($out);
    }
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the module loads and serves
--- http_config
    forest_model fraud $TEST_NGINX_SHARED/models/xgb_binary.json;
--- config
    location /v2/ { forest_kserve; }
--- request
GET /v2/health/live
--- error_code: 200
--- no_error_log
[error]
[emerg]



=== TEST 2: missing model file
--- http_config
    forest_model fraud $TEST_NGINX_SHARED/models/does-not-exist.json;
--- config
    location /v2/ { forest_kserve; }
--- must_die
--- error_log eval
qr{\[emerg\].*forest_model "fraud".*/models/does-not-exist\.json.*No such file or directory.* in \S+nginx\.conf:\d+}



=== TEST 3: truncated (corrupt) XGBoost JSON
--- user_files eval
[["truncated.json", substr(ForestT::slurp("$ENV{TEST_NGINX_SHARED}/models/xgb_binary.json"), 0, 5000)]]
--- http_config
    forest_model fraud $TEST_NGINX_SERVER_ROOT/html/truncated.json;
--- config
    location /v2/ { forest_kserve; }
--- must_die
--- error_log eval
qr{\[emerg\].*forest_model "fraud".*/html/truncated\.json.* in \S+nginx\.conf:\d+}



=== TEST 4: corrupt LightGBM text (tree section cut)
--- user_files eval
[["cut.txt", CORE::join("\n", grep { !/^(?:threshold|left_child)=/ } CORE::split /\n/, ForestT::slurp("$ENV{TEST_NGINX_SHARED}/models/lgb_binary.txt"))]]
--- http_config
    forest_model lgb $TEST_NGINX_SERVER_ROOT/html/cut.txt format=lightgbm;
--- config
    location /v2/ { forest_kserve; }
--- must_die
--- error_log eval
qr{\[emerg\].*forest_model "lgb".*/html/cut\.txt.* in \S+nginx\.conf:\d+}



=== TEST 5: a file in no supported format
--- user_files
>>> model.bin
this is not a tree model
--- http_config
    forest_model m $TEST_NGINX_SERVER_ROOT/html/model.bin;
--- config
    location /v2/ { forest_kserve; }
--- must_die
--- error_log eval
qr{\[emerg\].*forest_model "m".*/html/model\.bin.* in \S+nginx\.conf:\d+}



=== TEST 6: an unknown format name lists the supported ones
--- http_config
    forest_model m $TEST_NGINX_SHARED/models/xgb_binary.json format=onnx;
--- config
    location /v2/ { forest_kserve; }
--- must_die
--- error_log eval
qr{\[emerg\].*onnx.*xgboost_json.*lightgbm.*treelite_checkpoint.* in \S+nginx\.conf:\d+}



=== TEST 7: a model file of another format than the one named
--- http_config
    forest_model m $TEST_NGINX_SHARED/models/lgb_binary.txt format=xgboost_ubj;
--- config
    location /v2/ { forest_kserve; }
--- must_die
--- error_log eval
qr{\[emerg\].*forest_model "m".*/models/lgb_binary\.txt.* in \S+nginx\.conf:\d+}



=== TEST 8: an unknown forest_model key
--- http_config
    forest_model m $TEST_NGINX_SHARED/models/xgb_binary.json colour=blue;
--- config
    location /v2/ { forest_kserve; }
--- must_die
--- error_log eval
qr{\[emerg\].*colour=blue.* in \S+nginx\.conf:\d+}



=== TEST 9: a bad value for a known key
--- http_config
    forest_model m $TEST_NGINX_SHARED/models/xgb_binary.json max_batch_size=lots;
--- config
    location /v2/ { forest_kserve; }
--- must_die
--- error_log eval
qr{\[emerg\].*max_batch_size.* in \S+nginx\.conf:\d+}



=== TEST 10: forest_batch_threads: a bad thread count
--- http_config
    forest_model m $TEST_NGINX_SHARED/models/xgb_binary.json;
    forest_batch_threads 0;
--- config
    location /v2/ { forest_kserve; }
--- must_die
--- error_log eval
qr{\[emerg\].*invalid thread count "0": 1 to 1024 in \S+nginx\.conf:\d+}



=== TEST 11: forest_batch_threads max_queue must be a positive count
--- http_config
    forest_model m $TEST_NGINX_SHARED/models/xgb_binary.json;
    forest_batch_threads 2 max_queue=none;
--- config
    location /v2/ { forest_kserve; }
--- must_die
--- error_log eval
qr{\[emerg\].*invalid max_queue "max_queue=none".* in \S+nginx\.conf:\d+}



=== TEST 12: forest_batch_threads and forest_thread_pool exclude each other
--- main_config
    thread_pool fpool threads=2;
--- http_config
    forest_model m $TEST_NGINX_SHARED/models/xgb_binary.json;
    forest_thread_pool fpool;
    forest_batch_threads 2;
--- config
    location /v2/ { forest_kserve; }
--- must_die
--- error_log eval
qr{\[emerg\].*"forest_batch_threads" directive cannot be used with the other of forest_batch_threads and forest_thread_pool.* in \S+nginx\.conf:\d+}



=== TEST 13: the same model name twice
--- http_config
    forest_model m $TEST_NGINX_SHARED/models/xgb_binary.json;
    forest_model m $TEST_NGINX_SHARED/models/xgb_reg.json;
--- config
    location /v2/ { forest_kserve; }
--- must_die
--- error_log eval
qr{\[emerg\].*duplicate.*"m".* in \S+nginx\.conf:\d+}



=== TEST 14: forest_predict names a model that is not configured
--- http_config
    forest_model fraud $TEST_NGINX_SHARED/models/xgb_binary.json;
--- config
    location = /score { forest_predict nosuch; }
--- must_die
--- error_log eval
qr{\[emerg\].*nosuch.* in \S+nginx\.conf:\d+}



=== TEST 15: device=gpu without a usable GPU fails clearly
--- main_config
    env CUDA_VISIBLE_DEVICES=;
--- http_config
    forest_model fraud $TEST_NGINX_SHARED/models/xgb_binary.json device=gpu;
--- config
    location /v2/ { forest_kserve; }
--- must_die
--- error_log eval
qr{\[emerg\].*forest_model "fraud".*device=gpu.*(?:GPU|CUDA)}



=== TEST 16: device=auto falls back to the CPU and serves
--- main_config
    env CUDA_VISIBLE_DEVICES=;
--- http_config
    forest_model fraud $TEST_NGINX_SHARED/models/xgb_binary.json device=auto predict_proba=on;
--- config
    location /predict/ { forest_predict; }
--- request eval
"POST /predict/fraud\n{\"instances\": " . ForestT::rows_json(ForestT::input_rows('xgb_binary', 0, 3)) . "}"
--- response_body_filters eval
ForestT::json_like({ predictions => ForestT::predictions('xgb_binary', 'expected', 'proba', 0, 3) })
--- response_body: OK
--- error_log
device=auto runs on the cpu
--- no_error_log
[error]



=== TEST 17: every model format loads (json, ubj, legacy binary, lightgbm, treelite)
--- http_config
    forest_model xj $TEST_NGINX_SHARED/models/xgb_binary.json;
    forest_model xu $TEST_NGINX_SHARED/models/xgb_binary.ubj;
    forest_model xb $TEST_NGINX_SHARED/models/xgb_binary.model;
    forest_model xbe $TEST_NGINX_SHARED/models/xgb_binary.model format=xgboost;
    forest_model lg $TEST_NGINX_SHARED/models/lgb_binary.txt format=lightgbm;
    forest_model tl $TEST_NGINX_SHARED/models/tl_xgb_binary.treelite format=treelite_checkpoint;
    forest_model sk $TEST_NGINX_FOREST_ROOT/tests/models/tl_skl_rf_bin.treelite;
--- config
    location /v2/ { forest_kserve; }
--- request eval
[map { "GET /v2/models/$_/ready" } qw(xj xu xb xbe lg tl sk)]
--- error_code eval
[(200) x 7]
--- no_error_log
[error]
