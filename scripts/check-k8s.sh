#!/usr/bin/env bash
# Checks the Kubernetes manifests (deploy/k8s) without a cluster: renders every overlay with
# `kubectl kustomize`, validates it strictly against the schemas of Kubernetes $K8S_VERSION
# (kubernetes-validate: unknown fields and kinds without a schema fail), checks crm-bench's own
# invariants on it (deploy/k8s/checker: selectors, Services, each service's own PostgreSQL,
# autoscaler targets, probes on served routes, settings each binary's --help accepts), and
# checks that broken fixtures fail those checks (deploy/k8s/tests).
#
# Needs kubectl (which embeds kustomize), kubernetes-validate (scripts/install-deps.sh) and
# the CRM binaries in target/debug (cargo build --workspace --bins), or CRM_BIN_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Kubernetes release the manifests are written for (the preStop sleep action needs 1.30).
K8S_VERSION=1.32.0
export CRM_K8S_VERSION=$K8S_VERSION
export CRM_BIN_DIR=${CRM_BIN_DIR:-target/debug}

if ! command -v kubectl >/dev/null; then
  echo "check-k8s: kubectl is not installed, so the Kubernetes manifests cannot be rendered." >&2
  echo "check-k8s: install kubectl >= 1.27 (it embeds kustomize v5); the manifests target Kubernetes $K8S_VERSION." >&2
  exit 1
fi
if ! python3 -c 'import kubernetes_validate' 2>/dev/null; then
  echo "check-k8s: kubernetes-validate is missing; run scripts/install-deps.sh" >&2
  exit 1
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for overlay in monolith micro micro-hpa; do
  kubectl kustomize "deploy/k8s/overlays/$overlay" >"$out/$overlay.yaml"
  # --quiet prints only problems; a kind without a schema is only a warning there, which
  # fails here too (the manifests use core kinds only).
  python3 -m kubernetes_validate --strict -k "$K8S_VERSION" --quiet "$out/$overlay.yaml" >"$out/$overlay.validate" || true
  if [ -s "$out/$overlay.validate" ]; then
    cat "$out/$overlay.validate" >&2
    echo "check-k8s: $overlay does not validate against Kubernetes $K8S_VERSION" >&2
    exit 1
  fi
  echo "check-k8s: $overlay: $(grep -c '^kind:' "$out/$overlay.yaml") objects valid against Kubernetes $K8S_VERSION (strict)"
  python3 deploy/k8s/checker --overlay "$overlay" --bin-dir "$CRM_BIN_DIR" "$out/$overlay.yaml"
done
python3 -m unittest discover -s deploy/k8s/tests
