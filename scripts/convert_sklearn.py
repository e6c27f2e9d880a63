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
"""
import argparse
import pickle
import sys

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
    try:
        model = treelite.sklearn.import_model(est)
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
