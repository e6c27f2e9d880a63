#!/usr/bin/env python3
"""Writes the category-name test models: tests/models/{xgb3,lgb4}_strcat.*.

    python3 scripts/make_category_references.py

Run in the venv of scripts/requirements-refgen.txt (xgboost 3.2.0, lightgbm
4.7.0, pandas 3.1.1).  Both libraries train on a pandas DataFrame whose
categorical columns hold strings ("color", "size"); XGBoost 3.x stores the
category names in its model, LightGBM writes its pandas_categorical line.

Per model <stem>: the model file(s); categories/<stem>.rows.json, the test rows as
objects keyed by feature name with the category names as strings (null =
missing); <stem>.expected.csv and <stem>.margin.csv, the library's own
predictions on those rows as a DataFrame with string categories (the
DataFrame's categories listed in another order than training's, as a batch
that lacks levels has them); <stem>.input.csv, the same rows as the
training codes (empty = missing), on which the library must give the same
outputs (checked here), so tests/parity.py checks the codes too.

The LightGBM rows include names it never saw, which it takes as missing;
XGBoost refuses a DataFrame holding one ("Found a category not in the
training set"), so its rows hold none and t/096-categories.t checks the
refusal on its own.
"""
import json
import os

import lightgbm as lgb
import numpy as np
import pandas as pd
import xgboost as xgb

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))), "tests", "models")
COLORS = ["red", "green", "blue", "cyan", "magenta"]
SIZES = ["S", "M", "L", "XL"]
UNSEEN = {"color": ["purple", "Red", ""], "size": ["XXL"]}


def frame(rng, n):
    df = pd.DataFrame({
        "x0": rng.normal(size=n).astype(np.float32),
        "color": rng.choice(COLORS, n),
        "x1": rng.normal(size=n).astype(np.float32),
        "size": rng.choice(SIZES, n),
    })
    df.loc[rng.random(n) < 0.1, "color"] = None
    df.loc[rng.random(n) < 0.1, "x1"] = np.nan
    y = (df.color.isin(["red", "cyan"]).astype(int)
         + (df["size"] == "XL") + (df.x0 > 0.2)) % 2
    return df, y


def as_categories(df, cats):
    out = df.copy()
    for c, levels in cats.items():
        out[c] = pd.Categorical(df[c], categories=levels)
    return out


def test_rows(df, unseen):
    rows = df.head(40).copy()
    extra = []
    for c, names in (UNSEEN.items() if unseen else ()):
        for name in names:
            r = df.iloc[0].copy()
            r[c] = name
            extra.append(r)
    return pd.concat([rows, pd.DataFrame(extra)], ignore_index=True) \
        if extra else rows.reset_index(drop=True)


def write_csv(path, header, rows):
    with open(path, "w") as f:
        f.write(header + "\n")
        for r in rows:
            f.write(",".join("" if v != v else "%.9g" % v for v in r) + "\n")


def write_outputs(stem, df_strings, test_df, cats, value, margin):
    """strings.json, input.csv (codes), expected.csv, margin.csv"""
    base = os.path.join(OUT, stem)
    objs = []
    for _, r in test_df.iterrows():
        objs.append({k: (None if (v is None or v != v) else
                         (v if isinstance(v, str) else float(v)))
                     for k, v in r.items()})
    with open(os.path.join(OUT, "categories", stem + ".rows.json"),
              "w") as f:
        json.dump(objs, f, indent=0)
        f.write("\n")
    codes = test_df.copy()
    for c, levels in cats.items():
        known = test_df[c].where(test_df[c].isin(levels))
        codes[c] = pd.Categorical(known, categories=levels).codes \
            .astype(np.float32)
        codes.loc[codes[c] < 0, c] = np.nan
    write_csv(base + ".input.csv", ",".join(test_df.columns),
              codes.to_numpy(np.float32))
    write_csv(base + ".expected.csv", "prob1", np.reshape(value, (-1, 1)))
    write_csv(base + ".margin.csv", "margin", np.reshape(margin, (-1, 1)))
    return codes.to_numpy(np.float32)


def main():
    rng = np.random.default_rng(5)
    df, y = frame(rng, 600)
    train_cats = {"color": COLORS, "size": SIZES}
    # the request side's DataFrame: same names, levels in another order
    shuffled = {"color": sorted(COLORS + UNSEEN["color"]),
                "size": sorted(SIZES + UNSEEN["size"])}

    # XGBoost 3.x: names stored in the model; unseen names are refused
    m = xgb.XGBClassifier(n_estimators=12, max_depth=4, tree_method="hist",
                          enable_categorical=True, max_cat_to_onehot=1,
                          random_state=0)
    m.fit(as_categories(df, train_cats), y)
    b = m.get_booster()
    b.save_model(os.path.join(OUT, "xgb3_strcat.json"))
    b.save_model(os.path.join(OUT, "xgb3_strcat.ubj"))
    t = test_rows(df, unseen=False)
    tdf = as_categories(t, {c: [v for v in shuffled[c]
                                if v not in UNSEEN[c]] for c in shuffled})
    value = m.predict_proba(tdf)[:, 1]
    margin = m.predict(tdf, output_margin=True)
    X = write_outputs("xgb3_strcat", df, t, train_cats, value, margin)
    codes = b.inplace_predict(X, missing=np.nan)
    assert np.allclose(codes, value, atol=1e-6), "codes differ from names"

    # LightGBM: pandas_categorical; unseen names become missing
    lm = lgb.LGBMClassifier(n_estimators=12, num_leaves=8, min_child_samples=5,
                            cat_smooth=1, min_data_per_group=5, verbose=-1,
                            random_state=0, deterministic=True, n_jobs=1)
    lm.fit(as_categories(df, train_cats), y)
    lm.booster_.save_model(os.path.join(OUT, "lgb4_strcat.txt"))
    t = test_rows(df, unseen=True)
    tdf = as_categories(t, shuffled)
    value = lm.predict_proba(tdf)[:, 1]
    margin = lm.predict(tdf, raw_score=True)
    X = write_outputs("lgb4_strcat", df, t, train_cats, value, margin)
    codes = lm.booster_.predict(X.astype(np.float64))
    assert np.allclose(codes, value, atol=1e-12), "codes differ from names"
    print("xgb3_strcat, lgb4_strcat written")


if __name__ == "__main__":
    main()
