#!/usr/bin/env bash
# CI's performance regression guard: builds the release binaries, runs scenarios/ci.toml on
# both architectures (three runs of each point), and compares the result with the baseline
# committed in reports/baseline/ci: BASELINE_RUNS runs of the same scenario (run-1, run-2, …)
# whose samples `compare` pools. `crm-bench
# compare` exits 1 only when a metric's whole 95% confidence interval lies beyond its
# tolerance (throughput -25%, p50 +150%, p99 +200%, CPU-ms per request +30%, errors +1 pp),
# and the run itself exits 3 when reconciliation found a lost or mismatched write. Latency
# and CPU figures are first scaled by the two runs' machine-speed references (measured in
# each run on the SUT's CPU), so a slower CI machine is not read as slower code.
#   BASELINE=dir scripts/ci-bench.sh     # compare with another baseline
#   UPDATE_BASELINE=1 scripts/ci-bench.sh # measure and replace the committed baseline
#                                         # (BASELINE_RUNS=2 runs of ci.toml)
set -euo pipefail
cd "$(dirname "$0")/.."
BASELINE=${BASELINE:-reports/baseline/ci}

scripts/install-deps.sh
cargo build --release --workspace --bins
out=$(mktemp -d /tmp/crm-bench-ci.XXXXXX)
measure() {
  target/release/crm-bench run scenarios/ci.toml --reports "$1" >&2 || return $?
  ls -d "$1"/*-ci | head -1
}
if [ "${UPDATE_BASELINE:-0}" = 1 ]; then
  rm -rf "$BASELINE"; mkdir -p "$BASELINE"
  for i in $(seq "${BASELINE_RUNS:-2}"); do
    dir=$(measure "$out/run-$i")
    mkdir -p "$BASELINE/run-$i"
    cp "$dir"/results.json "$dir"/summary.md "$BASELINE/run-$i"/
  done
  echo "baseline updated: $BASELINE"
  exit 0
fi
dir=$(measure "$out/current")
target/release/crm-bench compare "$BASELINE"/run-* "$dir" --markdown
