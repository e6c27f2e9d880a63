# Served predictions vs the originating libraries' own outputs, for every
# model format: each block serves one model and sends all its reference rows
# (tests/reference/models, tests/models: <model>.input.csv) in one request;
# every output value must be within 1e-5 (relative above 1) of
# <model>.expected.csv (or .margin.csv).
#
#   --- parity: MODEL FILE [API] [KIND] [key=value ...]
#       API:  kserve (JSON, default), binary (binary tensors), simple
#       KIND: expected (default) or margin (simple API, ?margin=1)
use FindBin;
use lib "$FindBin::Bin/inc";
use ForestT;
use Test::Nginx::Socket 'no_plan';

add_block_preprocessor(sub {
    my $block = shift;
    my $spec = $block->parity or return;
    my ($model, $file, @rest) = split ' ', $spec;
    my $api = 'kserve';
    my $kind = 'expected';
    my @keys;
    for (@rest) {
        if (/^(?:kserve|binary|simple)$/) { $api = $_ }
        elsif (/^(?:expected|margin)$/) { $kind = $_ }
        else { push @keys, $_ }
    }
    my $dir = ForestT::model_dir($model);
    my $rows = ForestT::input_rows($model);
    my $n = @$rows;
    $block->set_value(http_config =>
        "    forest_model m $dir/$file max_batch_size=1024 @keys;\n");
    $block->set_value(config => "    location /v2/ { forest_kserve; }\n"
                              . "    location /predict/ { forest_predict; }\n");
    my $proba = grep { $_ eq 'predict_proba=on' } @keys;
    my $how = $kind eq 'margin' ? 'value' : $proba ? 'proba' : 'value';
    if ($api eq 'simple') {
        $block->set_value(request => "POST /predict/m" . ($kind eq 'margin' ? '?margin=1' : '')
            . "\n{\"instances\": " . ForestT::rows_json($rows) . "}");
        $block->set_value(response_body_filters => ForestT::json_like(
            { predictions => ForestT::predictions($model, $kind, $how, 0, $n) }));
    } else {
        if ($api eq 'binary') {
            my ($body, $len) = ForestT::kserve_binary($rows);
            $block->set_value(raw_request => ForestT::http_request('POST', '/v2/models/m/infer',
                $body, "Inference-Header-Content-Length: $len"));
        } else {
            $block->set_value(request => "POST /v2/models/m/infer\n" . ForestT::kserve_json($rows));
        }
        $block->set_value(response_body_filters => ForestT::json_like(
            { outputs => [ForestT::kserve_output($model, $kind, $how, 0, $n)] }));
    }
    $block->set_value(response_body => 'OK');
    $block->set_value(no_error_log => "[error]\n");
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: XGBoost JSON, binary:logistic
--- parity: xgb_binary xgb_binary.json predict_proba=on

=== TEST 2: XGBoost UBJSON, binary:logistic (binary tensors)
--- parity: xgb_binary xgb_binary.ubj binary predict_proba=on

=== TEST 3: XGBoost legacy binary, binary:logistic
--- parity: xgb_binary xgb_binary.model predict_proba=on format=xgboost

=== TEST 4: XGBoost JSON, margins
--- parity: xgb_binary xgb_binary.json simple margin

=== TEST 5: XGBoost JSON, regression with base_score
--- parity: xgb_reg xgb_reg.json

=== TEST 6: XGBoost JSON, multi:softprob
--- parity: xgb_multiclass xgb_multiclass.json predict_proba=on

=== TEST 7: XGBoost UBJSON, multi:softprob margins
--- parity: xgb_multiclass xgb_multiclass.ubj simple margin

=== TEST 8: XGBoost JSON, categorical splits
--- parity: xgb_cat xgb_cat.json predict_proba=on

=== TEST 9: LightGBM text, binary
--- parity: lgb_binary lgb_binary.txt predict_proba=on format=lightgbm

=== TEST 10: LightGBM text, binary margins
--- parity: lgb_binary lgb_binary.txt simple margin

=== TEST 11: LightGBM text, multiclass (binary tensors)
--- parity: lgb_multiclass lgb_multiclass.txt binary predict_proba=on

=== TEST 12: LightGBM text, categorical bitsets
--- parity: lgb_cat lgb_cat.txt predict_proba=on

=== TEST 13: LightGBM text, regression with zero_as_missing
--- parity: lgb_reg lgb_reg.txt

=== TEST 14: Treelite checkpoint from XGBoost
--- parity: tl_xgb_binary tl_xgb_binary.treelite predict_proba=on format=treelite_checkpoint

=== TEST 15: Treelite checkpoint from LightGBM (float64)
--- parity: tl_lgb_binary tl_lgb_binary.treelite predict_proba=on

=== TEST 16: Treelite checkpoint from LightGBM, margins
--- parity: tl_lgb_binary tl_lgb_binary.treelite simple margin

=== TEST 17: scikit-learn RandomForestClassifier via Treelite
--- parity: tl_skl_rf_bin tl_skl_rf_bin.treelite predict_proba=on

=== TEST 18: scikit-learn GradientBoostingClassifier, 4 classes, via Treelite
--- parity: tl_skl_gb_multi tl_skl_gb_multi.treelite predict_proba=on

=== TEST 19: scikit-learn RandomForestRegressor via Treelite
--- parity: tl_skl_rf_reg tl_skl_rf_reg.treelite

=== TEST 20: scikit-learn HistGradientBoosting, categorical + NaN, via Treelite
--- parity: tl_skl_hgb_bin_cat_nan tl_skl_hgb_bin_cat_nan.treelite predict_proba=on

=== TEST 21: XGBoost 3 JSON, binary
--- parity: xgb3_binary xgb3_binary.json predict_proba=on

=== TEST 22: XGBoost 3, two targets
--- parity: xgb3_multi_target xgb3_multi_target.json

=== TEST 23: XGBoost 1.7 legacy binary, multiclass
--- parity: xgb17_multiclass xgb17_multiclass.model predict_proba=on

=== TEST 24: LightGBM 4, multiclassova
--- parity: lgb4_multiclassova lgb4_multiclassova.txt predict_proba=on

=== TEST 25: LightGBM 4, poisson
--- parity: lgb4_poisson lgb4_poisson.txt

=== TEST 26: the bundled demo model (LightGBM iris, feature names)
--- parity: iris iris.txt predict_proba=on format=lightgbm

=== TEST 27: the bundled demo model, simple API
--- parity: iris iris.txt simple predict_proba=on
