#!/usr/bin/env python3
"""Strict schema check of the custom resources in rendered manifests.

    k8s_crds.py FILE...

kubernetes-validate knows only the built-in kinds and passes a custom
resource with a warning.  This checks the two kinds deploy/kubernetes uses
(ServiceMonitor, ClusterServingRuntime) against schemas written here from
the Prometheus Operator and KServe API references, strict like
kubernetes-validate --strict (no unknown field anywhere), with the
Kubernetes types inside them (Container, Volume, LabelSelector, ObjectMeta,
...) taken from kubernetes-validate's own strict schemas.  Any other kind
that kubernetes-validate has no schema for is an error here, so a new custom
resource cannot slip through unchecked.  Prints one line per document; exit
status 1 when any fails.
"""
import json
import sys

import jsonschema
import referencing
import yaml
from importlib import resources
from kubernetes_validate import utils

# the $id of kubernetes-validate's _definitions.json
K8S_DEFS = "https://kubernetes.io/api/_definitions.json#/$defs/"


def k8s(name):
    return {"$ref": K8S_DEFS + name}


def obj(required=(), **props):
    return {"type": "object", "properties": props,
            "required": list(required), "additionalProperties": False}


def array(items, min_items=0):
    return {"type": "array", "items": items, "minItems": min_items}


STRING = {"type": "string"}
BOOL = {"type": "boolean"}
STRING_MAP = {"type": "object", "additionalProperties": STRING}
# Prometheus durations: 30s, 1m30s, 500ms
DURATION = {"type": "string",
            "pattern": r"^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?"
                       r"(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$"}
RELABEL = obj(sourceLabels=array(STRING), separator=STRING, targetLabel=STRING,
              regex=STRING, modulus={"type": "integer"}, replacement=STRING,
              action={"enum": ["replace", "keep", "drop", "hashmod",
                               "labelmap", "labeldrop", "labelkeep",
                               "lowercase", "uppercase", "keepequal",
                               "dropequal"]})

# monitoring.coreos.com/v1 ServiceMonitor (the fields a scrape of one
# Service port needs)
SERVICE_MONITOR = obj(
    ["selector", "endpoints"],
    jobLabel=STRING,
    targetLabels=array(STRING),
    podTargetLabels=array(STRING),
    namespaceSelector=obj(any=BOOL, matchNames=array(STRING)),
    selector=k8s("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"),
    endpoints=array(obj(
        port=STRING,
        targetPort={"type": ["integer", "string"]},
        path={"type": "string", "pattern": "^/"},
        scheme={"enum": ["http", "https", "HTTP", "HTTPS"]},
        params={"type": "object",
                "additionalProperties": array(STRING)},
        interval=DURATION,
        scrapeTimeout=DURATION,
        honorLabels=BOOL,
        honorTimestamps=BOOL,
        relabelings=array(RELABEL),
        metricRelabelings=array(RELABEL)), 1))

# serving.kserve.io/v1alpha1 ClusterServingRuntime (ServingRuntimeSpec)
SERVING_RUNTIME = obj(
    ["containers", "supportedModelFormats"],
    supportedModelFormats=array(obj(
        ["name"], name=STRING, version=STRING, autoSelect=BOOL,
        priority={"type": "integer", "minimum": 1}), 1),
    protocolVersions=array({"enum": ["v1", "v2", "grpc-v1", "grpc-v2"]}),
    multiModel=BOOL,
    disabled=BOOL,
    grpcEndpoint=STRING,
    grpcDataEndpoint=STRING,
    httpDataEndpoint=STRING,
    replicas={"type": "integer", "minimum": 0},
    storageHelper=obj(disabled=BOOL),
    annotations=STRING_MAP,
    labels=STRING_MAP,
    nodeSelector=STRING_MAP,
    affinity=k8s("io.k8s.api.core.v1.Affinity"),
    tolerations=array(k8s("io.k8s.api.core.v1.Toleration")),
    imagePullSecrets=array(
        k8s("io.k8s.api.core.v1.LocalObjectReference")),
    containers=array(k8s("io.k8s.api.core.v1.Container"), 1),
    volumes=array(k8s("io.k8s.api.core.v1.Volume")))

KINDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): (SERVICE_MONITOR, True),
    ("serving.kserve.io/v1alpha1", "ClusterServingRuntime"):
        (SERVING_RUNTIME, False),
}


def schema_for(spec, namespaced):
    meta = k8s("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
    if not namespaced:
        # a cluster-scoped object with a namespace is refused by the API
        meta = {"allOf": [meta, {"not": {"required": ["namespace"]}}]}
    return obj(["apiVersion", "kind", "metadata", "spec"],
               apiVersion=STRING, kind=STRING, metadata=meta, spec=spec)


def registry():
    version = utils.latest_version()
    path = (resources.files("kubernetes_validate") / "kubernetes-json-schema"
            / ("v%s-local-strict" % version) / "_definitions.json")
    defs = json.loads(path.read_text())
    return referencing.Resource.from_contents(defs) @ referencing.Registry()


def builtin(doc):
    """Whether kubernetes-validate has a schema for doc's kind."""
    try:
        utils.validate(doc, utils.latest_version(), strict=True)
    except utils.SchemaNotFoundError:
        return False
    except utils.ValidationError:
        pass
    return True


def main(files):
    reg = registry()
    failed = 0
    for name in files:
        with open(name) as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
        for doc in docs:
            key = (doc.get("apiVersion"), doc.get("kind"))
            label = "%s %s/%s" % (name, key[1],
                                  doc.get("metadata", {}).get("name"))
            if key in KINDS:
                spec, namespaced = KINDS[key]
                validator = jsonschema.Draft202012Validator(
                    schema_for(spec, namespaced), registry=reg)
                errors = sorted(validator.iter_errors(doc),
                                key=lambda e: list(e.absolute_path))
                for e in errors:
                    print("FAIL %s: %s: %s" % (
                        label, "/".join(map(str, e.absolute_path)),
                        e.message[:300]))
                failed += bool(errors)
                if not errors:
                    print("ok   %s (custom resource schema)" % label)
            elif not builtin(doc):
                print("FAIL %s: no schema for %s %s" % (label, *key))
                failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
