# The format= key of forest_model reads the library's format table:
# format=xgboost loads only XGBoost encodings (JSON, UBJSON, legacy binary,
# told apart by the bytes) and refuses any other model at configuration time
# with the file, the line of nginx.conf and what the file looks like; an
# unknown name lists every name the table holds.
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
        lightgbm => ["$models/lgb_binary.txt", 'lightgbm'],
        treelite => ["$models/tl_xgb_binary.treelite", 'treelite_checkpoint'],
    );
    # a sanitizer build loads only with its runtime preloaded
    local $ENV{LD_PRELOAD} = $ENV{TEST_NGINX_LD_PRELOAD} if $ENV{TEST_NGINX_LD_PRELOAD};
    for my $case (sort keys %cases) {
        my ($path, $looks) = @{ $cases{$case} };
        ForestT::spew("$dir/nginx.conf", "${load}events {}\nhttp {\n"
            . "    forest_model m $path format=xgboost;\n}\n");
        my $line = $nload + 3;
        my $out = `$bin -t -p $dir/ -c $dir/nginx.conf 2>&1`;
        isnt($? >> 8, 0, "nginx -t fails on a $case model with format=xgboost");
        like($out, qr/\[emerg\].*forest_model "m": cannot load \Q$path\E: /,
             "nginx -t names the $case file");
        like($out, qr/not an XGBoost model \(looks like \Q$looks\E\)/,
             "nginx -t says the $case file is no XGBoost model");
        like($out, qr/ in \Q$dir\E\/nginx\.conf:$line\b/, "nginx -t names line $line of nginx.conf")
            or diag($out);
    }
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: format=xgboost refuses a LightGBM model
--- http_config
    forest_model m $TEST_NGINX_SHARED/models/lgb_binary.txt format=xgboost;
--- config
    location /v2/ { forest_kserve; }
--- must_die
--- error_log eval
qr{\[emerg\].*forest_model "m".*/models/lgb_binary\.txt: not an XGBoost model \(looks like lightgbm\) in \S+nginx\.conf:\d+}



=== TEST 2: format=xgboost refuses a Treelite checkpoint
--- http_config
    forest_model m $TEST_NGINX_SHARED/models/tl_xgb_binary.treelite format=xgboost;
--- config
    location /v2/ { forest_kserve; }
--- must_die
--- error_log eval
qr{\[emerg\].*forest_model "m".*/models/tl_xgb_binary\.treelite: not an XGBoost model \(looks like treelite_checkpoint\) in \S+nginx\.conf:\d+}



=== TEST 3: format=xgboost refuses bytes of no format, naming the encodings
--- user_files
>>> model.bin
this is not a tree model
--- http_config
    forest_model m $TEST_NGINX_SERVER_ROOT/html/model.bin format=xgboost;
--- config
    location /v2/ { forest_kserve; }
--- must_die
--- error_log eval
qr{\[emerg\].*forest_model "m".*/html/model\.bin: not an XGBoost model \(expected XGBoost JSON, XGBoost UBJSON or XGBoost legacy binary\) in \S+nginx\.conf:\d+}



=== TEST 4: format=xgboost loads every XGBoost encoding; the alias treelite loads a checkpoint
--- http_config
    forest_model xj $TEST_NGINX_SHARED/models/xgb_binary.json format=xgboost;
    forest_model xu $TEST_NGINX_SHARED/models/xgb_binary.ubj format=xgboost;
    forest_model xb $TEST_NGINX_SHARED/models/xgb_binary.model format=xgboost;
    forest_model tl $TEST_NGINX_SHARED/models/tl_xgb_binary.treelite format=treelite;
--- config
    location /v2/ { forest_kserve; }
--- request eval
[map { "GET /v2/models/$_/ready" } qw(xj xu xb tl)]
--- error_code eval
[(200) x 4]
--- no_error_log
[error]
[emerg]



=== TEST 5: an unknown format name lists every name and alias
--- http_config
    forest_model m $TEST_NGINX_SHARED/models/xgb_binary.json format=onnx;
--- config
    location /v2/ { forest_kserve; }
--- must_die
--- error_log eval
qr{\[emerg\].*forest_model "m": unknown format "onnx", expected one of: auto, xgboost, xgboost_json, xgboost_ubj, xgboost_binary, lightgbm, treelite_checkpoint \(or treelite\) in \S+nginx\.conf:\d+}
