#!/usr/bin/env bash
# Issue-2 read benchmark, in one run on one machine:
#   1. GET /companies/{id} (random ids among 1M companies) through the monolith, driven by wrk;
#   2. pgbench -S -M prepared (random primary-key reads of 1M pgbench accounts) on the same
#      PostgreSQL, same CPU for the system under test, same client count and duration;
#   3. the plans PostgreSQL chose for the API's own list queries (filter + keyset cursor) at
#      1M companies, logged by auto_explain.
# The system under test (PostgreSQL + monolith) runs on CPU $SUT_CPU, the load generators on
# CPU $LOAD_CPU. Prints the ratio monolith/pgbench; writes everything to $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
SUT_CPU=${SUT_CPU:-1}; LOAD_CPU=${LOAD_CPU:-0}
CONNS=${CONNS:-32}; DURATION=${DURATION:-20}; ROWS=${ROWS:-1000000}
OUT=${OUT:-reports/bench-read-$(date -u +%Y%m%dT%H%M%SZ)}
PORT=${PORT:-55499}; APP_PORT=${APP_PORT:-18099}
BIN=/usr/lib/postgresql/15/bin
CRM_INSTALL_BENCH_TOOLS=1 scripts/install-deps.sh
mkdir -p "$OUT"
DIR=$(mktemp -d /tmp/crm-bench-pg.XXXX)
as_pg() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"
cleanup() {
  [ -n "${APP:-}" ] && kill "$APP" 2>/dev/null || true
  as_pg "$BIN/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
as_pg "$BIN/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
taskset -c "$SUT_CPU" setpriv --reuid=postgres --regid=postgres --init-groups -- \
  "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -o "-p $PORT -c listen_addresses=127.0.0.1 \
  -c unix_socket_directories=$DIR -c max_connections=200 -c shared_buffers=1GB \
  -c shared_preload_libraries=auto_explain" start >/dev/null
PSQL=(psql -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -qAt)
"${PSQL[@]}" -c "CREATE DATABASE crm"
# TRANSPORT=tcp (default) or unix: how both the monolith and pgbench reach PostgreSQL.
if [ "${TRANSPORT:-tcp}" = unix ]; then
  PGHOST=$DIR; URL="postgres://postgres@localhost/crm?host=$DIR&port=$PORT"
else
  PGHOST=127.0.0.1; URL="postgres://postgres@127.0.0.1:$PORT/crm"
fi

cargo build --release -p crm-monolith
taskset -c "$SUT_CPU" env CRM_DATABASE_URL="$URL" CRM_LISTEN="127.0.0.1:$APP_PORT" RUST_LOG=warn \
  CRM_DB_MAX_CONNECTIONS=${DB_CONNS:-$CONNS} ./target/release/crm-monolith >"$OUT/monolith.log" 2>&1 &
APP=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$APP_PORT/readyz" >/dev/null && break; sleep 0.2; done
API="http://127.0.0.1:$APP_PORT/api/v1"
TOKENS=$(curl -sf "$API/auth/signup" -H 'content-type: application/json' \
  -d '{"tenant_name": "Bench", "name": "B", "email": "bench@bench.io", "password": "bench password"}')
TOKEN=$(echo "$TOKENS" | jq -r .access_token)
TENANT=$(echo "$TOKENS" | jq -r .user.tenant_id)

echo "seeding $ROWS companies (SQL, one tenant) and pgbench scale $((ROWS / 100000))"
"${PSQL[@]}" -d crm <<SQL
INSERT INTO crm_customers.companies (id, tenant_id, created_at, updated_at, name, domain, industry, employees)
SELECT gen_random_uuid(), '$TENANT', ts, ts, 'Company ' || i, 'company' || i || '.example',
       (ARRAY['Software','Energy','Retail','Health','Logistics','Finance','Food','Media'])[1 + i % 8], i % 5000
FROM generate_series(1, $ROWS) i, LATERAL (SELECT now() - make_interval(secs => i) AS ts) t;
ANALYZE crm_customers.companies;
SQL
pgbench -i -q -s $((ROWS / 100000)) -h 127.0.0.1 -p "$PORT" -U postgres crm >/dev/null 2>&1
"${PSQL[@]}" -d crm -c "SELECT id FROM crm_customers.companies ORDER BY random() LIMIT 20000" > "$DIR/ids"

cat > "$DIR/get.lua" <<LUA
local ids = {}
for line in io.lines("$DIR/ids") do ids[#ids + 1] = line end
math.randomseed(42)
request = function()
  return wrk.format("GET", "/api/v1/companies/" .. ids[math.random(#ids)], {["Authorization"] = "Bearer $TOKEN"})
end
LUA
echo "warm-up"
taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d5s -s "$DIR/get.lua" "http://127.0.0.1:$APP_PORT" >/dev/null
taskset -c "$LOAD_CPU" pgbench -S -M prepared -c "$CONNS" -j 1 -T 5 -h "$PGHOST" -p "$PORT" -U postgres crm >/dev/null 2>&1
echo "measuring ${DURATION}s each"
cpu_of() { # utime+stime (clock ticks) of the given pids
  local t=0 v; for p in "$@"; do v=$(awk '{print $14 + $15}' /proc/$p/stat 2>/dev/null) || v=0; t=$((t + ${v:-0})); done; echo $t; }
# CPU ticks of this cluster: its postmaster, including backends it has reaped (cutime,
# cstime), plus the backends alive now; not any other postgres on the machine.
pg_cpu() {
  local pm; pm=$(head -1 "$DIR/data/postmaster.pid")
  echo $(( $(awk '{print $14 + $15 + $16 + $17}' /proc/$pm/stat) + $(cpu_of $(pgrep -P "$pm")) ))
}
HZ=$(getconf CLK_TCK)
APP_CPU0=$(cpu_of $APP); PG_CPU0=$(pg_cpu)
if [ "${PROFILE:-0}" = 1 ]; then
  # Where the monolith spends its CPU during the measured run (perf, software clock).
  perf record -F 499 -g -o "$DIR/perf.data" -p "$APP" -- sleep "$DURATION" >/dev/null 2>&1 &
  PERF=$!
fi
taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -s "$DIR/get.lua" "http://127.0.0.1:$APP_PORT" | tee "$OUT/wrk.txt"
if [ -n "${PERF:-}" ]; then
  wait "$PERF" || true
  perf report -i "$DIR/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -E "^ +[0-9]" | head -60 > "$OUT/profile.txt"
  perf report -i "$DIR/perf.data" --children --sort symbol --stdio 2>/dev/null | grep -E "^ +[0-9]" | head -80 > "$OUT/profile-children.txt"
fi
APP_CPU1=$(cpu_of $APP); PG_CPU1=$(pg_cpu); PG_CPU2=$PG_CPU1
taskset -c "$LOAD_CPU" pgbench -S -M prepared -c "$CONNS" -j 1 -T "$DURATION" -h "$PGHOST" -p "$PORT" -U postgres crm 2>/dev/null | tee "$OUT/pgbench.txt"
sleep 0.5; PG_CPU3=$(pg_cpu)
RPS=$(awk '/Requests\/sec/ {print $2}' "$OUT/wrk.txt")
NON2XX=$(awk '/Non-2xx/ {print $NF}' "$OUT/wrk.txt"); NON2XX=${NON2XX:-0}
TPS=$(awk '/^tps/ {print $3; exit}' "$OUT/pgbench.txt")

echo "list plans at $ROWS companies (auto_explain of the API's own queries)"
"${PSQL[@]}" -d crm -c "ALTER SYSTEM SET auto_explain.log_min_duration = 0" -c "ALTER SYSTEM SET auto_explain.log_analyze = on" \
  -c "ALTER SYSTEM SET auto_explain.log_buffers = on" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
: > "$DIR/server.log.mark"; MARK=$(wc -l < "$DIR/server.log")
auth=(-H "authorization: Bearer $TOKEN")
P1=$(curl -sfG "$API/companies" "${auth[@]}" --data-urlencode 'filter=industry[eq]:"Energy"' --data-urlencode limit=50)
C1=$(echo "$P1" | jq -r .page.next_cursor)
curl -sfG "$API/companies" "${auth[@]}" --data-urlencode 'filter=industry[eq]:"Energy"' --data-urlencode limit=50 \
  --data-urlencode "starting_after=$C1" >/dev/null
P2=$(curl -sfG "$API/companies" "${auth[@]}" --data-urlencode 'order_by=name[asc]' --data-urlencode limit=50)
curl -sfG "$API/companies" "${auth[@]}" --data-urlencode 'order_by=name[asc]' --data-urlencode limit=50 \
  --data-urlencode "starting_after=$(echo "$P2" | jq -r .page.next_cursor)" >/dev/null
curl -sfG "$API/companies" "${auth[@]}" --data-urlencode 'filter=and(industry[eq]:"Retail",employees[gte]:4000)' \
  --data-urlencode 'order_by=updated_at[desc]' --data-urlencode limit=50 >/dev/null
sleep 1
# Keep the plans of the companies list queries (not the relay's and deliverer's polls).
tail -n +"$((MARK + 1))" "$DIR/server.log" | awk '/^[0-9]{4}-/ { if (block ~ /crm_customers.companies/) printf "%s", block; block = "" } { block = block $0 "\n" } END { if (block ~ /crm_customers.companies/) printf "%s", block }' > "$OUT/list-plans.txt"
"${PSQL[@]}" -d crm -c "ALTER SYSTEM RESET ALL" -c "SELECT pg_reload_conf()" >/dev/null

RATIO=$(python3 -c "print(f'{$RPS / $TPS:.3f}')")
REQS=$(awk '/requests in/ {print $1}' "$OUT/wrk.txt"); TXS=$(awk '/actually processed/ {print $NF}' "$OUT/pgbench.txt")
CPU_LINE=$(python3 -c "
hz=$HZ; reqs=$REQS; txs=$TXS
app=($APP_CPU1-$APP_CPU0)/hz; pg=($PG_CPU1-$PG_CPU0)/hz; pgb=($PG_CPU3-$PG_CPU2)/hz
print(f'| CPU per request, API run | monolith {app/reqs*1e6:.0f} µs + PostgreSQL {pg/reqs*1e6:.0f} µs |')
print(f'| CPU per transaction, pgbench run | PostgreSQL {pgb/txs*1e6:.0f} µs |')")
cat > "$OUT/summary.md" <<MD
# Read benchmark ($(date -u +%FT%TZ), $(nproc) CPUs: SUT on CPU $SUT_CPU, load on CPU $LOAD_CPU)

| measurement | result |
|---|---|
| GET /companies/{id} via crm-monolith (wrk, $CONNS connections, ${DURATION}s) | $RPS req/s (non-2xx: $NON2XX) |
| pgbench -S -M prepared ($CONNS clients, ${DURATION}s) | $TPS tps |
| ratio monolith / pgbench | **$RATIO** (target ≥ 0.6) |
$CPU_LINE
| transport to PostgreSQL (both) | ${TRANSPORT:-tcp}; database pool ${DB_CONNS:-$CONNS} |

Both read one row by primary key out of $ROWS, chosen at random, from the same PostgreSQL on
the same CPU. The monolith request also verifies an EdDSA token, checks the role, serialises
JSON and crosses HTTP. List plans: list-plans.txt (auto_explain of the API's own queries).
MD
cat "$OUT/summary.md"
grep -E "Index|Seq Scan|Limit|Execution|duration" "$OUT/list-plans.txt" | head -40
