#!/usr/bin/env bash
# Installs what a fresh Debian bookworm machine lacks for building and testing crm-bench:
# PostgreSQL 15 server binaries, nats-server, debootstrap (the Docker runtime's base image), and
# the tools the benchmarks cross-check with.
# Idempotent: installs only what is missing.
set -euo pipefail

# kubernetes-validate checks the Kubernetes manifests against the API's schemas offline
# (scripts/check-k8s.sh), from PyPI into the python3 on the PATH (pyenv's, with its pip).
# Pinned: each release bundles the schemas of the Kubernetes versions known when it was made.
KUBERNETES_VALIDATE=1.37.0
if ! python3 -c "import importlib.metadata as m, sys; sys.exit(m.version('kubernetes-validate') != '$KUBERNETES_VALIDATE')" 2>/dev/null; then
  echo "installing: kubernetes-validate==$KUBERNETES_VALIDATE (PyPI)"
  python3 -m pip install --disable-pip-version-check --quiet --root-user-action=ignore \
    "kubernetes-validate==$KUBERNETES_VALIDATE" || {
    echo "install-deps: pip could not install kubernetes-validate==$KUBERNETES_VALIDATE into $(command -v python3)" >&2
    exit 1
  }
fi

need=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
command -v nats-server >/dev/null || need+=(nats-server)
command -v setpriv >/dev/null || need+=(util-linux)
command -v taskset >/dev/null || need+=(util-linux)
command -v curl >/dev/null || need+=(curl)
command -v jq >/dev/null || need+=(jq)
# The report's PNGs are rasterised with DejaVu Sans.
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
# The Docker runtime's base image is made from Debian's packages (deploy/base-image.sh).
command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
# schemathesis' virtual environment needs python3 with venv (pyenv's has it; Debian's own
# python3 needs python3-venv).
command -v python3 >/dev/null || need+=(python3)
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
if [ "${CRM_INSTALL_BENCH_TOOLS:-0}" = 1 ]; then
  command -v wrk >/dev/null || need+=(wrk)
  command -v pgbench >/dev/null || need+=(postgresql-contrib)
  [ -x /usr/bin/time ] || need+=(time)
fi

# schemathesis (PyPI), pinned, in a virtual environment under the ignored .tools/: the
# contract run of the OpenAPI document in scripts/schemathesis.sh.
install_schemathesis() {
  local version venv
  version=$(cat "$(dirname "$0")/schemathesis.version")
  venv="$(dirname "$0")/../.tools/schemathesis-$version"
  [ -x "$venv/bin/st" ] && return 0
  echo "installing schemathesis $version into $venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "schemathesis==$version"
}

if [ ${#need[@]} -eq 0 ]; then
  install_schemathesis
  exit 0
fi

sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "missing packages: ${need[*]} (run as root or install sudo)" >&2; exit 1; }
  sudo="sudo"
fi
echo "installing: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
install_schemathesis
