#!/usr/bin/env python3
"""Writes the large GPU benchmark model: a synthetic LightGBM text model,
binary objective, 5000 trees of max depth 12 (256 leaves each, grown by
splitting random leaves above depth 12), 32 features.  Standard library only,
so it runs on the GPU machine, where no ML library is installed, instead of
carrying a ~60 MB model there.  Seeded: the same file every time.

usage: make_large_model.py OUT.txt [--trees N] [--leaves L] [--depth D]
"""
import argparse
import random


def grow_tree(rng, n_leaves, max_depth, n_features):
    # nodes: internal splits as [feature, threshold, left, right];
    # children >= 0 are internal node ids, < 0 are ~leaf ids (LightGBM)
    splits = []
    leaves = [(None, 0)]          # (parent ref (split, side) or None, depth)
    while len(leaves) < n_leaves:
        candidates = [i for i, (_, d) in enumerate(leaves) if d < max_depth]
        if not candidates:
            break
        i = rng.choice(candidates)
        parent, depth = leaves[i]
        s = len(splits)
        splits.append([rng.randrange(n_features),
                       round(rng.uniform(-1.0, 1.0), 6), None, None])
        if parent is not None:
            splits[parent[0]][2 + parent[1]] = s
        leaves[i] = ((s, 0), depth + 1)
        leaves.append(((s, 1), depth + 1))
    for leaf_id, (parent, _) in enumerate(leaves):
        splits[parent[0]][2 + parent[1]] = ~leaf_id
    values = [round(rng.gauss(0.0, 0.02), 8) for _ in leaves]
    return splits, values


def tree_text(t, splits, values):
    join = lambda xs: " ".join(str(x) for x in xs)
    n = len(splits)
    return "\n".join([
        "Tree=%d" % t,
        "num_leaves=%d" % len(values),
        "num_cat=0",
        "split_feature=" + join(s[0] for s in splits),
        "split_gain=" + join([1] * n),
        "threshold=" + join(s[1] for s in splits),
        # default_left, missing type NaN
        "decision_type=" + join([10] * n),
        "left_child=" + join(s[2] for s in splits),
        "right_child=" + join(s[3] for s in splits),
        "leaf_value=" + join(values),
        "leaf_weight=" + join([1] * len(values)),
        "leaf_count=" + join([1] * len(values)),
        "internal_value=" + join([0] * n),
        "internal_weight=" + join([1] * n),
        "internal_count=" + join([2] * n),
        "is_linear=0",
        "shrinkage=1",
        "", ""])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--trees", type=int, default=5000)
    ap.add_argument("--leaves", type=int, default=256)
    ap.add_argument("--depth", type=int, default=12)
    ap.add_argument("--features", type=int, default=32)
    a = ap.parse_args()
    rng = random.Random(20261126)
    with open(a.out, "w") as f:
        f.write("tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\n"
                "label_index=0\nmax_feature_idx=%d\nobjective=binary sigmoid:1\n"
                % (a.features - 1))
        f.write("feature_names=" + " ".join("f%d" % i for i in
                                            range(a.features)) + "\n")
        f.write("feature_infos=" + " ".join(["[-1:1]"] * a.features)
                + "\n\n")
        for t in range(a.trees):
            f.write(tree_text(t, *grow_tree(rng, a.leaves, a.depth,
                                            a.features)))
        f.write("end of trees\n")


if __name__ == "__main__":
    main()
