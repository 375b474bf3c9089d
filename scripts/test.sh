#!/usr/bin/env bash
# The README's test command: installs what is missing, then formatting, lints and every test.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
# The harness's tests start the CRM's binaries (next to crm-bench in target/debug).
cargo build --workspace --bins
# The Kubernetes manifests, rendered and validated offline (their checker reads the binaries'
# --help, hence after the build).
scripts/check-k8s.sh
# cargo test (not nextest): tests of one binary share one private PostgreSQL cluster,
# which on a 2-core machine is far cheaper than a cluster per test process.
cargo test --workspace --no-fail-fast
# The OpenAPI document against both builds, every schemathesis check (README: "schemathesis").
scripts/schemathesis.sh
