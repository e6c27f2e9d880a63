"""The Flask peer of bench/http_bench.sh: what people write today to serve an
XGBoost model over HTTP.  POST /predict {"instances": [[...], ...]} ->
{"predictions": [...]} (the same simple API as ngx_forest's forest_predict).

Run under gunicorn: BENCH_MODEL=path/to/model.json gunicorn flask_app:app
"""
import os

import numpy as np
import xgboost as xgb
from flask import Flask, jsonify, request

booster = xgb.Booster(model_file=os.environ["BENCH_MODEL"])
# one worker on one core: XGBoost's own threads would only compete for it
booster.set_param({"nthread": 1})

app = Flask(__name__)


@app.post("/predict")
def predict():
    body = request.get_json(force=True)
    rows = body.get("instances", body.get("inputs"))
    # JSON null is a missing value, as in ngx_forest
    x = np.array(rows, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    pred = booster.inplace_predict(x, missing=np.nan)
    return jsonify(predictions=pred.tolist())
