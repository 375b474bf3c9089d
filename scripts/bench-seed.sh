#!/usr/bin/env bash
# Issue-5 seeding benchmark, in one run on one machine:
#   1. a fresh monolith deployment (`crm-bench up`: PostgreSQL and the monolith on $SUT_CPUS);
#   2. `crm-bench seed --size $SIZE --path bulk` (COPY into every context's tables, index
#      rebuilds and ANALYZE included), run on $LOAD_CPU: rows/s;
#   3. `pgbench -i` into a new database of the same PostgreSQL, client on $LOAD_CPU, with the
#      scale that gives about as many rows (100,000 accounts per scale unit; its time covers
#      generating, COPY, vacuum and primary keys): rows/s;
#   4. the ratio seed / pgbench.
# DURABLE=1 runs PostgreSQL with fsync and synchronous commit (crm-bench up --durable).
# Everything goes to $OUT; the deployment is torn down at the end, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${SIZE:-large}; SEED=${SEED:-42}; LOAD_CPU=${LOAD_CPU:-0}; SUT_CPUS=${SUT_CPUS:-1}
OUT=${OUT:-reports/bench-seed-$(date -u +%Y%m%dT%H%M%SZ)}
CRM_INSTALL_BENCH_TOOLS=1 scripts/install-deps.sh
mkdir -p "$OUT"
cargo build --release -p crm-bench -p crm-monolith
BENCH=./target/release/crm-bench
STATE_DIR=$(mktemp -d /tmp/crm-bench-seed.XXXX); chmod 755 "$STATE_DIR"  # the postgres user must reach its cluster
export CRM_BENCH_STATE=$STATE_DIR/state.json CRM_BENCH_WORK_ROOT=$STATE_DIR/work
cleanup() { "$BENCH" down >/dev/null 2>&1 || true; rm -rf "$STATE_DIR"; }
trap cleanup EXIT

UP_ARGS=(--arch monolith --sut-cpus "$SUT_CPUS")
[ "${DURABLE:-0}" = 1 ] && UP_ARGS+=(--durable)
"$BENCH" up "${UP_ARGS[@]}" | tee "$OUT/up.txt"

echo "seeding $SIZE (seed $SEED) via COPY, on CPU $LOAD_CPU"
taskset -c "$LOAD_CPU" "$BENCH" seed --size "$SIZE" --seed "$SEED" --path bulk --json > "$OUT/seed.json" 2> "$OUT/seed.log"
SEED_ROWS=$(jq '[.rows[]] | add' "$OUT/seed.json")
SEED_SECS=$(jq '.seconds' "$OUT/seed.json")
SEED_RATE=$(jq '.rows_per_second' "$OUT/seed.json")
CONTACTS=$(jq '.rows.contacts' "$OUT/seed.json")

SEED_PG_CPU=$(jq '.postgres_cpu_seconds' "$OUT/seed.json")
SEED_OWN_CPU=$(jq '.seeder_cpu_seconds' "$OUT/seed.json")
STATUS=$("$BENCH" status --json)
ADMIN_URL=$(echo "$STATUS" | jq -r .postgres_admin_url)
PM=$(echo "$STATUS" | jq -r '.instances[] | select(.name == "postgres") | .pid')
# CPU ticks of this cluster: its postmaster with the backends it has reaped, and the
# processes alive now (as bench-read.sh counts them).
pg_cpu() {
  local t; t=$(awk '{print $14 + $15 + $16 + $17}' /proc/$PM/stat)
  for p in $(pgrep -P "$PM"); do t=$((t + $(awk '{print $14 + $15}' /proc/$p/stat 2>/dev/null || echo 0))); done
  echo "$t"
}
TCK=$(getconf CLK_TCK)
psql "$ADMIN_URL" -qc "CREATE DATABASE pgbench_seed"
PGB_URL=${ADMIN_URL%/postgres}/pgbench_seed
SCALE=$(( (SEED_ROWS + 50000) / 100000 )); [ "$SCALE" -lt 1 ] && SCALE=1
PGB_ROWS=$(( SCALE * 100000 + SCALE * 10 + SCALE ))
echo "pgbench -i -s $SCALE ($PGB_ROWS rows) on the same PostgreSQL, on CPU $LOAD_CPU"
CPU0=$(pg_cpu); START=$(date +%s.%N)
taskset -c "$LOAD_CPU" /usr/bin/time -f 'client cpu %U %S' pgbench -i -q -s "$SCALE" "$PGB_URL" > "$OUT/pgbench.txt" 2>&1
END=$(date +%s.%N)
sleep 1  # the backend's CPU counts once the postmaster has reaped it
CPU1=$(pg_cpu)
PGB_PG_CPU=$(awk "BEGIN {print ($CPU1 - $CPU0) / $TCK}")
PGB_OWN_CPU=$(awk '/^client cpu/ {print $3 + $4}' "$OUT/pgbench.txt")
PGB_SECS=$(awk "BEGIN {print $END - $START}")
PGB_RATE=$(awk "BEGIN {print $PGB_ROWS / $PGB_SECS}")

{
  printf 'seed %s (seed %s, bulk/COPY): %s rows (%s contacts) in %.1f s = %.0f rows/s\n' \
    "$SIZE" "$SEED" "$SEED_ROWS" "$CONTACTS" "$SEED_SECS" "$SEED_RATE"
  jq -r '.rows | to_entries[] | "  \(.key): \(.value)"' "$OUT/seed.json"
  sed 's/\x1b\[[0-9;]*m//g' "$OUT/seed.log" | grep -oE '(crm_[a-z_]+\.[a-z_]+: [0-9]+ rows copied|[0-9]+ tables loaded).*' | sed 's/^/  /' || true
  printf 'pgbench -i -s %s: %s rows in %.1f s = %.0f rows/s\n' "$SCALE" "$PGB_ROWS" "$PGB_SECS" "$PGB_RATE"
  grep -E '^done in' "$OUT/pgbench.txt" | sed 's/^/  /' || true
  printf '  CPU: PostgreSQL %.1f s, seeder %.1f s; pgbench: PostgreSQL %.1f s, client %.1f s\n' \
    "$SEED_PG_CPU" "$SEED_OWN_CPU" "$PGB_PG_CPU" "$PGB_OWN_CPU"
  printf 'ratio seed/pgbench, rows/s: %.3f; rows per PostgreSQL CPU-second: %.0f vs %.0f (%.3f)\n' \
    "$(awk "BEGIN {print $SEED_RATE / $PGB_RATE}")" \
    "$(awk "BEGIN {print $SEED_ROWS / $SEED_PG_CPU}")" "$(awk "BEGIN {print $PGB_ROWS / $PGB_PG_CPU}")" \
    "$(awk "BEGIN {print ($SEED_ROWS / $SEED_PG_CPU) / ($PGB_ROWS / $PGB_PG_CPU)}")"
  echo "SUT (PostgreSQL, monolith) on CPU(s) $SUT_CPUS; seeder and pgbench client on CPU $LOAD_CPU; durable=${DURABLE:-0}"
} | tee "$OUT/summary.txt"
