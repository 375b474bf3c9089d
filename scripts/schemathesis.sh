#!/usr/bin/env bash
# Schemathesis against /api/v1/openapi.json of each build: brings the monolith and then the
# microservices (gateway) up with the harness, logs in as the benchmark tenant's admin, runs
# every check with a fixed seed and example budget, and tears the build down again. Any
# failure fails the script (and so scripts/test.sh).
#
#   scripts/schemathesis.sh [monolith] [micro]     # default: both
#
# Settings (the README records them): SCHEMATHESIS_SEED, SCHEMATHESIS_EXAMPLES (cases per
# operation and phase), SCHEMATHESIS_WORKERS; the binaries from target/debug (CRM_BENCH_BIN).
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(cat scripts/schemathesis.version)
st=".tools/schemathesis-$version/bin/st"
seed=${SCHEMATHESIS_SEED:-20240909}
examples=${SCHEMATHESIS_EXAMPLES:-5}
workers=${SCHEMATHESIS_WORKERS:-2}
bench=${CRM_BENCH_BIN:-target/debug/crm-bench}
archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(monolith micro)

[ -x "$st" ] || scripts/install-deps.sh
[ -x "$bench" ] || { echo "build first: cargo build --workspace --bins" >&2; exit 1; }

work=$(mktemp -d)
state="$work/state.json"
cleanup() {
  "$bench" --state "$state" down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

failed=0
for arch in "${archs[@]}"; do
  echo "== schemathesis $version against the $arch (seed $seed, $examples examples per operation)"
  "$bench" --state "$state" up --arch "$arch" --sut-cpus all | tee "$work/up.txt"
  api=$(awk '/^  API:/ {print $2}' "$work/up.txt")
  root=${api%/api/v1}
  read -r email password < <(awk '/^  admin:/ {print $2, $4}' "$work/up.txt")
  token=$(curl -sf "$api/auth/login" -H 'content-type: application/json' \
    -d "{\"email\": \"$email\", \"password\": \"$password\"}" | jq -r .access_token)
  [ -n "$token" ] && [ "$token" != null ] || { echo "could not log in as $email" >&2; exit 1; }
  # The live feed never ends: a request to it can only time out.
  if ! SCHEMATHESIS_HOOKS=scripts.schemathesis_hooks PYTHONPATH=. "$st" --config-file scripts/schemathesis.toml run "$api/openapi.json" \
      --url "$root" \
      -H "Authorization: Bearer $token" \
      --checks all \
      --phases examples,coverage,fuzzing \
      --mode all \
      --seed "$seed" \
      --max-examples "$examples" \
      --workers "$workers" \
      --request-timeout 30 \
      --exclude-path /api/v1/analytics/stream \
      --suppress-health-check all \
      --report junit --report-dir "target/schemathesis/$arch" \
      --output-truncate false; then
    failed=1
    echo "schemathesis found failures against the $arch (report: target/schemathesis/$arch)" >&2
  fi
  "$bench" --state "$state" down
done
exit $failed
