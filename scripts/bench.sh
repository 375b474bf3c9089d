#!/usr/bin/env bash
# The README's main command: builds the CRM and the harness (release), then runs a scenario
# on both architectures and writes a report to reports/<timestamp>-<scenario>/.
#   scripts/bench.sh                       # scenarios/quick.toml, a few minutes
#   scripts/bench.sh scenarios/paper.toml  # every experiment, ~18 minutes
# Extra arguments go to `crm-bench run` (e.g. --sut-cpus 1 --load-cpus 0).
set -euo pipefail
cd "$(dirname "$0")/.."
SCENARIO=${1:-scenarios/quick.toml}
shift || true

scripts/install-deps.sh
cargo build --release --workspace --bins
exec target/release/crm-bench run "$SCENARIO" "$@"
