#!/usr/bin/env python3
"""Convert a pickled scikit-learn tree ensemble into a Treelite checkpoint.

    convert_sklearn.py MODEL.pkl OUT.treelite [--joblib]

The checkpoint is what `treelite.Model.serialize()` writes, the file Triton's
FIL backend loads with model_type "treelite_checkpoint"; ngx_forest loads the
same file with format treelite.  The pickle must be unpicklable by the
scikit-learn installed here (pickles are version-specific: run this from an
environment with the scikit-learn that wrote it).

Supported (whatever treelite.sklearn.import_model supports): RandomForest /
ExtraTrees Classifier and Regressor, GradientBoosting Classifier and
Regressor, HistGradientBoosting Classifier and Regressor, IsolationForest.
Exit status 0 on success, 1 on any error (message on stderr).

HistGradientBoosting with categorical features (scikit-learn >= 1.4): the
estimator maps every value that is not one of its training categories
(unseen, negative or fractional codes) to a missing value, while Treelite's
importer sends those to the side of "not in the category list".  The
converted trees get lists that send every unseen whole number the way the
node sends missing values, and the checkpoint's attributes name the
categorical features ({"category_fraction_is_missing": [...]}) so that
ngx_forest treats a fraction as missing too (Treelite itself truncates it).
String categories (a pandas column of strings) are refused: a checkpoint
holds integer category codes only.
"""
import argparse
import json
import pickle
import sys
import warnings

SUPPORTED = (
    "RandomForestClassifier", "RandomForestRegressor",
    "ExtraTreesClassifier", "ExtraTreesRegressor",
    "GradientBoostingClassifier", "GradientBoostingRegressor",
    "HistGradientBoostingClassifier", "HistGradientBoostingRegressor",
    "IsolationForest",
)


def fail(msg):
    print(f"convert_sklearn: {msg}", file=sys.stderr)
    sys.exit(1)


def load_estimator(path, use_joblib):
    try:
        if use_joblib:
            import joblib
            return joblib.load(path)
        with open(path, "rb") as f:
            return pickle.load(f)
    except ImportError as e:
        fail(f"{path}: cannot unpickle, missing module: {e}")
    except Exception as e:  # noqa: BLE001 -- any unpickling failure is reported
        fail(f"{path}: cannot unpickle: {type(e).__name__}: {e}")


def unwrap(est, path):
    """A Pipeline whose last step is the ensemble is refused rather than
    silently dropping its preprocessing steps."""
    name = type(est).__name__
    if name == "Pipeline":
        fail(f"{path}: is a Pipeline; only a bare ensemble estimator can be "
             "converted (its preprocessing steps cannot run in the server)")
    if name not in SUPPORTED:
        fail(f"{path}: unsupported estimator {type(est).__module__}.{name}; "
             f"supported: {', '.join(SUPPORTED)}")
    if not hasattr(est, "n_features_in_"):
        fail(f"{path}: {name} is not fitted")
    return est


def hgb_known_categories(est, path):
    """{feature: sorted training categories} of a HistGradientBoosting
    estimator's categorical features; {} for none.  Refuses string
    categories and codes Treelite cannot hold."""
    pre = getattr(est, "_preprocessor", None)
    if pre is None or getattr(est, "is_categorical_", None) is None:
        return {}
    names = getattr(est, "feature_names_in_", None)
    features = [i for i, c in enumerate(est.is_categorical_) if c]
    known = {}
    for f, cats in zip(features, pre.named_transformers_["encoder"]
                       .categories_):
        label = repr(str(names[f])) if names is not None else str(f)
        values = [c for c in cats if isinstance(c, str) or c == c]
        if any(isinstance(c, str) for c in values):
            fail(f"{path}: categorical feature {label} has string categories "
                 f"({', '.join(repr(c) for c in values[:4])}"
                 f"{', ...' if len(values) > 4 else ''}); a Treelite "
                 "checkpoint holds integer category codes only: train on "
                 "integer codes (e.g. the column's cat.codes) and send those")
        if any(float(c) != int(c) or c < 0 or c >= 2**31 for c in values):
            fail(f"{path}: categorical feature {label} has categories that "
                 "are not non-negative whole numbers; a Treelite checkpoint "
                 "cannot hold them")
        known[f] = sorted(int(c) for c in values)
    return known


def hgb_unseen_as_missing(model, known):
    """Rewrites each categorical node of the imported model so that a whole
    number outside its feature's training categories goes where the node
    sends missing values, as scikit-learn does."""
    import numpy as np
    for t in range(model.num_tree):
        tree = model.get_tree_accessor(t)
        kind = tree.get_field("node_type")
        if not (kind == 2).any():
            continue
        feature = tree.get_field("split_index")
        default_left = tree.get_field("default_left")
        begin = tree.get_field("category_list_begin")
        end = tree.get_field("category_list_end")
        old = tree.get_field("category_list")
        right = tree.get_field("category_list_right_child").copy()
        lists = []
        for i in range(len(kind)):
            cats = [int(c) for c in old[begin[i]:end[i]]]
            if kind[i] == 2:
                # the listed categories go to side s (left unless right);
                # missing values go left iff default_left
                if bool(default_left[i]) == (not right[i]):
                    # unseen must join the list's side: list the others
                    cats = sorted(set(known[int(feature[i])]) - set(cats))
                    right[i] = not right[i]
            lists.append(cats)
        sizes = np.array([len(c) for c in lists], dtype=np.uint64)
        ends = np.cumsum(sizes, dtype=np.uint64)
        tree.set_field("category_list", np.array(
            [c for cats in lists for c in cats], dtype=np.uint32))
        tree.set_field("category_list_begin", ends - sizes)
        tree.set_field("category_list_end", ends)
        tree.set_field("category_list_right_child", right.astype(np.uint8))
    model.get_header_accessor().set_field("attributes", json.dumps(
        {"category_fraction_is_missing": sorted(known)}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", help="pickled (or joblib) fitted estimator")
    ap.add_argument("out", help="Treelite checkpoint to write")
    ap.add_argument("--joblib", action="store_true",
                    help="read with joblib.load instead of pickle.load "
                         "(default: by extension .joblib)")
    args = ap.parse_args()

    try:
        import treelite
        import treelite.sklearn
    except ImportError as e:
        fail(f"python package treelite is required: {e}")

    use_joblib = args.joblib or args.model.endswith(".joblib")
    est = unwrap(load_estimator(args.model, use_joblib), args.model)
    known = (hgb_known_categories(est, args.model)
             if type(est).__name__.startswith("HistGradientBoosting") else {})
    try:
        with warnings.catch_warnings():
            # its cast of the encoder's NaN category to int64; unused
            warnings.simplefilter("ignore", RuntimeWarning)
            model = treelite.sklearn.import_model(est)
        if known:
            hgb_unseen_as_missing(model, known)
    except Exception as e:  # noqa: BLE001 -- treelite raises several types
        fail(f"{args.model}: treelite cannot import {type(est).__name__}: "
             f"{type(e).__name__}: {e}")
    try:
        model.serialize(args.out)
    except Exception as e:  # noqa: BLE001
        fail(f"{args.out}: cannot write checkpoint: {e}")
    print(f"{args.out}: {type(est).__name__}, {model.num_tree} trees, "
          f"{model.num_feature} features (treelite {treelite.__version__})")


if __name__ == "__main__":
    main()
