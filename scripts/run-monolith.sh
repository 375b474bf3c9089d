#!/usr/bin/env bash
# Starts a private PostgreSQL cluster and the monolith with a demo tenant, on 127.0.0.1:8080.
#   scripts/run-monolith.sh            # then, in another shell: scripts/walkthrough.sh
# Stop with ctrl-c (the monolith drains and exits); `scripts/dev-postgres.sh stop` removes
# the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
URL=$(scripts/dev-postgres.sh "${CRM_DEV_PG_PORT:-55432}")
cargo build --release -p crm-monolith
exec env CRM_DATABASE_URL="$URL" CRM_LISTEN="${CRM_LISTEN:-127.0.0.1:8080}" \
  ./target/release/crm-monolith --seed-demo
