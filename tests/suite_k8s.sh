#!/usr/bin/env bash
# Offline checks of the Kubernetes manifests (deploy/kubernetes): every
# kustomization renders with `kubectl kustomize` (each component on each
# node overlay too), kubernetes-validate --strict accepts every built-in
# kind, tests/k8s_crds.py every custom resource, checkov finds nothing (its
# skips are justified beside them), and what the manifests promise holds
# (probes, graceful stop, the adapter's metric names are the module's).
# The tools come from pinned wheels (scripts/requirements-k8s.txt) in a venv
# of their own, build/venv-k8s (beside the other venvs, shared by every
# BUILD dir), made here when absent.  No cluster is needed.
# $1 (the build dir every suite is given) is not needed: nothing is built.
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
K8S=deploy/kubernetes
VENV=build/venv-k8s
REQ=scripts/requirements-k8s.txt
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0 skipped=0
finish() { summary; exit; }

# ---- the tools ------------------------------------------------------------
if [ ! -f "$VENV/.stamp" ] || [ "$REQ" -nt "$VENV/.stamp" ]; then
    t0=$SECONDS
    if bash scripts/make_venv.sh "$VENV" "$REQ" > "$TMP/venv.log" 2>&1; then
        ok "venv-k8s made from $REQ ($((SECONDS - t0)) s)"
    else
        bad "venv-k8s from $REQ: $(tail -5 "$TMP/venv.log")"
        finish
    fi
fi
KUBECTL=$VENV/bin/kubectl
PY=$VENV/bin/python
for tool in kubectl kubernetes-validate checkov python; do
    [ -x "$VENV/bin/$tool" ] || { bad "$VENV/bin/$tool missing"; finish; }
done
# checkov asks Prisma Cloud for guidelines unless told not to; CI cannot reach it
CHECKOV=("$VENV/bin/checkov" --framework kubernetes --skip-download --compact
         --quiet)

# ---- what to render -------------------------------------------------------
# every kustomization but the components, plus each component on each node
# overlay (a component renders only inside a kustomization that uses it)
targets=() components=()
while IFS= read -r k; do
    dir=${k%/kustomization.yaml}
    if grep -q '^kind: Component' "$k"; then
        components+=("$dir")
    else
        targets+=("$dir")
    fi
done < <(find "$K8S" -name kustomization.yaml | sort)
[ ${#targets[@]} -ge 6 ] && [ ${#components[@]} -ge 2 ] \
    && ok "found ${#targets[@]} kustomizations, ${#components[@]} components" \
    || bad "found ${#targets[@]} kustomizations, ${#components[@]} components"
for c in "${components[@]}"; do
    for o in overlays/cpu overlays/gpu; do
        d=$TMP/combo/$(basename "$c")-${o##*/}
        mkdir -p "$d"
        # kustomize takes no absolute paths
        cat > "$d/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: ngx-forest
resources:
  - $(realpath --relative-to="$d" "$K8S/$o")
components:
  - $(realpath --relative-to="$d" "$c")
EOF
        targets+=("$d")
    done
done

# ---- render and validate each ---------------------------------------------
rendered=()
for t in "${targets[@]}"; do
    name=${t#"$K8S/"}
    name=${name#"$TMP/"}
    out=$TMP/render/${name//\//-}.yaml
    mkdir -p "$TMP/render"
    if ! "$KUBECTL" kustomize "$t" > "$out" 2> "$TMP/err"; then
        bad "kustomize $name: $(head -c 400 "$TMP/err")"
        continue
    fi
    ok "kustomize $name ($(grep -c '^kind:' "$out") objects)"
    rendered+=("$out")

    if v=$("$VENV/bin/kubernetes-validate" --strict --quiet "$out" 2>&1); then
        ok "kubernetes-validate --strict $name"
    else
        bad "kubernetes-validate --strict $name: ${v:0:600}"
    fi
    if v=$("$PY" tests/k8s_crds.py "$out" 2>&1); then
        ok "custom resources $name"
    else
        bad "custom resources $name: ${v:0:600}"
    fi
    if v=$("${CHECKOV[@]}" -f "$out" 2>&1); then
        ok "checkov $name"
    else
        bad "checkov $name: $(grep -E 'Check:|FAILED|Error' <<<"$v" | head -8)"
    fi
done

# ---- the tools do check: a broken document of each kind fails -------------
cat > "$TMP/bad-deploy.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: x, namespace: x}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers: [{name: x, image: "x:1", imagePort: 80}]
EOF
"$VENV/bin/kubernetes-validate" --strict --quiet "$TMP/bad-deploy.yaml" \
    > /dev/null 2>&1 && bad "kubernetes-validate accepted an unknown field" \
    || ok "kubernetes-validate refuses an unknown field"
sed 's/interval: 15s/intervall: 15s/' "$K8S/components/servicemonitor/servicemonitor.yaml" \
    > "$TMP/bad-sm.yaml"
"$PY" tests/k8s_crds.py "$TMP/bad-sm.yaml" > /dev/null 2>&1 \
    && bad "k8s_crds.py accepted a misspelt ServiceMonitor field" \
    || ok "k8s_crds.py refuses a misspelt ServiceMonitor field"
printf 'apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: x}\nspec: {}\n' \
    > "$TMP/bad-kind.yaml"
"$PY" tests/k8s_crds.py "$TMP/bad-kind.yaml" > /dev/null 2>&1 \
    && bad "k8s_crds.py accepted a kind it has no schema for" \
    || ok "k8s_crds.py refuses a kind it has no schema for"
"${CHECKOV[@]}" -f "$TMP/bad-deploy.yaml" > /dev/null 2>&1 \
    && bad "checkov passed a Deployment with no securityContext" \
    || ok "checkov fails a Deployment with no securityContext"

# ---- every checkov skip has its reason in a comment right above it --------
while IFS=: read -r file line _; do
    id=$(sed -n "${line}p" "$file" | grep -o 'CKV[0-9]*_[A-Z0-9]*_[0-9]*')
    above=$(sed -n "1,$((line - 1))p" "$file" | tac | sed '/^ *#/!Q' | tac)
    if [ -n "$id" ] && grep -q "# $id: " <<<"$above"; then
        ok "checkov skip $id in ${file#"$K8S/"} is explained"
    else
        bad "checkov skip at $file:$line has no '# ${id:-CKV_...}: why' comment above it"
    fi
done < <(grep -rn 'checkov.io/skip' "$K8S" --include='*.yaml')

# ---- the image tag is the project's version --------------------------------
version=$(cat VERSION)
while IFS=: read -r file _ tag; do
    tag=$(tr -d ' "' <<<"${tag##*newTag:}")
    [ "$tag" = "$version" ] && ok "image tag in ${file#"$K8S/"} is VERSION ($version)" \
        || bad "image tag in $file is $tag, VERSION is $version"
done < <(grep -rn 'newTag:' "$K8S" --include=kustomization.yaml)

# ---- what the manifests promise -------------------------------------------
if v=$("$PY" - "$TMP/render" ngx_module/ngx_http_forest_metrics.c \
        "$K8S/prometheus-adapter/config.yaml" <<'EOF' 2>&1
import glob, re, sys, yaml

render, metrics_c, adapter = sys.argv[1:]
problems = []
def need(cond, what):
    if not cond:
        problems.append(what)

exported = set(re.findall(r'"(nv_inference_[a-z_]+)"', open(metrics_c).read()))
rules = yaml.safe_load(open(adapter))["rules"]
used = set()
for r in rules:
    used |= set(re.findall(r"nv_inference_[a-z_]+",
                           r["seriesQuery"] + r["metricsQuery"]))
need(used and used <= exported,
     "adapter rule names %s, the module exports %s" % (sorted(used - exported),
                                                      sorted(exported)))
ratio = [r["name"]["as"] for r in rules]

for path in sorted(glob.glob(render + "/*.yaml")):
    name = path.rsplit("/", 1)[1]
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    for d in docs:
        if d["kind"] == "Deployment":
            pod = d["spec"]["template"]["spec"]
            c = pod["containers"][0]
            sc = c["securityContext"]
            need(pod["securityContext"].get("runAsNonRoot") and sc.get("runAsNonRoot"),
                 name + ": not runAsNonRoot")
            need(sc.get("readOnlyRootFilesystem"), name + ": root fs writable")
            mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
            vols = {v["name"]: v for v in pod["volumes"]}
            for p in ("/tmp", "/run"):
                need(p in mounts and "emptyDir" in vols[mounts[p]["name"]],
                     name + ": no emptyDir at " + p)
            need(mounts.get("/models", {}).get("readOnly"),
                 name + ": /models not mounted read-only")
            need(c["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready",
                 name + ": readiness is not /v2/health/ready")
            need(c["livenessProbe"]["httpGet"]["path"] == "/v2/health/live",
                 name + ": liveness is not /v2/health/live")
            stop = " ".join(c["lifecycle"]["preStop"]["exec"]["command"])
            need("kill -QUIT 1" in stop, name + ": preStop does not SIGQUIT nginx")
            sleep = int(re.search(r"sleep (\d+);", stop).group(1))
            env = {e["name"]: e.get("value") for e in c.get("env", [])}
            drain = int(env.get("FOREST_SHUTDOWN_TIMEOUT", "25s").rstrip("s"))
            need(pod["terminationGracePeriodSeconds"] > sleep + drain,
                 name + ": grace period %d <= preStop %d s + shutdown %d s"
                 % (pod["terminationGracePeriodSeconds"], sleep, drain))
            for k in ("requests", "limits"):
                need({"cpu", "memory"} <= set(c["resources"].get(k, {})),
                     name + ": no cpu/memory " + k)
            gpu = "nvidia.com/gpu" in c["resources"]["limits"]
            need(gpu == ("gpu" in name), name + ": nvidia.com/gpu limit "
                 + ("where no GPU overlay is" if gpu else "missing"))
        if d["kind"] == "HorizontalPodAutoscaler":
            pods = [m["pods"]["metric"]["name"] for m in d["spec"]["metrics"]
                    if m["type"] == "Pods"]
            need(all(p in ratio for p in pods),
                 name + ": HPA metric %s is no adapter rule's" % pods)
            if "queue-autoscaling" in name or "prometheus" in name:
                need(pods, name + ": HPA lacks the queue-time metric")
print("\n".join(problems))
sys.exit(1 if problems else 0)
EOF
); then
    ok "manifests keep their promises (probes, graceful stop, metric names)"
else
    bad "manifests: $v"
fi

finish
