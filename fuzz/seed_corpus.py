"""Shared by fuzz/make_*seeds.py: where the seed corpora live and how a seed
is written (fuzz/corpus/<target>/<name>)."""
import os

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
