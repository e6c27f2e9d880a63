#!/usr/bin/env bash
# Copies the project's reference set -- models written by XGBoost 1.7.4,
# LightGBM 4.6.0.99, scikit-learn 1.2.1 and Treelite 4.2.0-dev, 200-row inputs
# and each library's own predictions -- from the development machines'
# shared models folder into tests/reference/models/, byte for byte, and
# records their checksums in tests/reference/SHA256SUMS (which
# tests/suite_selfcontained.sh verifies).  Its README.md says how each file
# was made and with which versions; SEMANTICS.md the prediction rules checked
# on them.  The tests read only the copy: a clone needs nothing beside it.
#
#   scripts/import_reference_models.sh SHARED_MODELS_DIR
#
# Left out: the skl_*.json files, a tree dump the reference set defines for
# its own checks, which no test reads.  The .pkl pickles are kept:
# tests/suite_convert_sklearn.sh converts them with scikit-learn 1.2.1.
set -euo pipefail
src=${1:?usage: scripts/import_reference_models.sh SHARED_MODELS_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/tests/reference/models
[ -f "$src/README.md" ] && [ -f "$src/xgb_binary.json" ] \
    || { echo "$src does not hold the reference models" >&2; exit 1; }

rm -rf "$dest"
mkdir -p "$dest"
find "$src" -maxdepth 1 -type f ! -name 'skl_*.json' -exec cp --no-preserve=mode {} "$dest/" \;
cd "$root/tests/reference"
find models -type f | LC_ALL=C sort | xargs sha256sum > SHA256SUMS
echo "$(wc -l < SHA256SUMS) files in $dest"
