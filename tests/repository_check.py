"""Drives nginx + ngx_forest serving a Triton FIL model repository
(forest_model_repository ... poll=) with the real tritonclient.http: the
repository extension (index, load, unload) as Triton users call it, and
polling, while other clients keep sending inference requests that must all
succeed with the library's answers.

usage: repository_check.py HOST:PORT SHARED_MODELS_DIR REPOSITORY
Prints one line per check and "N passed, N failed, 0 skipped" last.
"""
import os
import shutil
import sys
import threading
import time

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from client_common import check, finish, read_csv

url, models, repo = sys.argv[1], sys.argv[2], sys.argv[3]

ROWS = read_csv(f"{models}/xgb_binary.input.csv")[:8]
E = read_csv(f"{models}/xgb_binary.expected.csv")[:8].astype(np.float64)
WANT = np.hstack([1 - E, E])


def infer(client, model):
    inp = httpclient.InferInput("input__0", list(ROWS.shape), "FP32")
    inp.set_data_from_numpy(ROWS)
    # an old worker closes its idle keep-alive connections when a reload
    # retires it, and a request sent on one at that moment is lost (as in
    # every NGINX reload): the load clients open a connection per request
    got = client.infer(model, [inp], headers={"Connection": "close"}) \
        .as_numpy("output__0").astype(np.float64)
    return got.shape == WANT.shape and bool(
        np.all(np.abs(got - WANT) <= 1e-5 * np.maximum(1, np.abs(WANT))))


def index(client):
    return {(m["name"], m.get("version", "")): (m["state"], m.get("reason", ""))
            for m in client.get_model_repository_index()}


def wait_for(what, fn, secs=15):
    end = time.time() + secs
    while time.time() < end:
        try:
            if fn():
                return True
        except InferenceServerException:
            pass
        time.sleep(0.1)
    return False


# inference under everything below: every answer must be right
stop = threading.Event()
load = {"sent": 0, "bad": []}


def hammer():
    c = httpclient.InferenceServerClient(url=url)
    while not stop.is_set():
        try:
            ok = infer(c, "fraud")
            load["sent"] += 1
            if not ok:
                load["bad"].append("wrong answer")
        except Exception as e:  # any failure counts
            load["bad"].append(f"{type(e).__name__}: {e}")


client = httpclient.InferenceServerClient(url=url)
try:
    md = client.get_server_metadata()
    check("get_server_metadata (GET /v2)",
          "model_repository" in md.get("extensions", []), str(md))
except Exception as e:
    check("get_server_metadata (GET /v2)", False, str(e))

ix = index(client)
check("index: fraud and reg READY",
      ix.get(("fraud", "1"), ("",))[0] == "READY"
      and ix.get(("reg", "1"), ("",))[0] == "READY", str(ix))
check("index: a model that fails to load is UNAVAILABLE with the loader's "
      "reason", ix.get(("bad", "1"), ("", ""))[0] == "UNAVAILABLE"
      and "cannot load" in ix[("bad", "1")][1], str(ix.get(("bad", "1"))))

threads = [threading.Thread(target=hammer) for _ in range(3)]
for t in threads:
    t.start()
time.sleep(0.3)

try:
    client.unload_model("reg")
    check("unload_model", not client.is_model_ready("reg"))
except Exception as e:
    check("unload_model", False, str(e))
ix = index(client)
check("index: an unloaded model is UNAVAILABLE: unloaded",
      ix.get(("reg", "")) == ("UNAVAILABLE", "unloaded"), str(ix))

try:
    client.load_model("reg")
    check("load_model", client.is_model_ready("reg"))
except Exception as e:
    check("load_model", False, str(e))

try:
    client.load_model("bad")
    check("load_model of a broken model fails", False, "no error")
except InferenceServerException as e:
    check("load_model of a broken model fails with the loader's reason",
          "cannot load" in str(e), str(e))

try:
    client.load_model("nosuch")
    check("load_model of an unknown model fails", False, "no error")
except InferenceServerException as e:
    check("load_model of an unknown model fails", "nosuch" in str(e), str(e))

# poll: a new version folder is picked up (version_policy latest 1)
os.makedirs(f"{repo}/fraud/2")
shutil.copy(f"{models}/xgb_binary.json", f"{repo}/fraud/2/xgboost.json")
check("poll: version 2 appears", wait_for(
    "v2", lambda: client.get_model_metadata("fraud")["versions"] == ["2"]))

# a broken version 3 never replaces the working version 2
os.makedirs(f"{repo}/fraud/3")
with open(f"{repo}/fraud/3/xgboost.json", "w") as f:
    f.write("{ not a model")
time.sleep(2)
check("poll: a broken version 3 leaves version 2 serving",
      client.get_model_metadata("fraud")["versions"] == ["2"])
shutil.copy(f"{models}/xgb_binary.json", f"{repo}/fraud/3/xgboost.json")
check("poll: the fixed version 3 is served", wait_for(
    "v3", lambda: client.get_model_metadata("fraud")["versions"] == ["3"]))

stop.set()
for t in threads:
    t.join()
check(f"{load['sent']} inference requests during load/unload/poll, "
      f"0 failed", load["sent"] > 0 and not load["bad"],
      "; ".join(load["bad"][:3]))

finish()
