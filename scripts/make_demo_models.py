#!/usr/bin/env python3
"""Writes the bundled demo models served by conf.example (`make demo`).

models/fraud.json  the XGBoost binary:logistic reference model
                   (tests/reference/models/xgb_binary.json, 20 features),
                   copied.
models/iris.txt    a small LightGBM multiclass model trained here on the iris
                   data set that ships with scikit-learn (4 features named
                   sepal_length, sepal_width, petal_length, petal_width).
models/iris.expected.csv  LightGBM's own probabilities for the 150 iris rows,
                   for checking the served answers.

usage: scripts/make_demo_models.py
"""
import os
import shutil

import lightgbm as lgb
import numpy as np
from sklearn.datasets import load_iris

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = os.path.join(root, "models")
os.makedirs(out, exist_ok=True)

shutil.copyfile(os.path.join(root, "tests", "reference", "models",
                             "xgb_binary.json"),
                os.path.join(out, "fraud.json"))

iris = load_iris()
x = iris.data.astype(np.float32)
names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
params = {"objective": "multiclass", "num_class": 3, "num_leaves": 7,
          "learning_rate": 0.2, "min_data_in_leaf": 5, "seed": 7,
          "deterministic": True, "num_threads": 1, "verbose": -1}
booster = lgb.train(params, lgb.Dataset(x, iris.target, feature_name=names),
                    num_boost_round=20)
booster.save_model(os.path.join(out, "iris.txt"))

# reload the written file, as a user of it would
reloaded = lgb.Booster(model_file=os.path.join(out, "iris.txt"))
proba = reloaded.predict(x)
with open(os.path.join(out, "iris.input.csv"), "w") as f:
    f.write(",".join(names) + "\n")
    for row in x:
        f.write(",".join("%.9g" % v for v in row) + "\n")
with open(os.path.join(out, "iris.expected.csv"), "w") as f:
    f.write("prob0,prob1,prob2\n")
    for row in proba:
        f.write(",".join("%.9g" % v for v in row) + "\n")
print("wrote", ", ".join(sorted(os.listdir(out))))
