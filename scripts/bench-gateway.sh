#!/usr/bin/env bash
# Issue-3 benchmark: the added latency of the gateway hop. GET /companies/{id} (random ids)
# straight to the customers service and through the gateway, same load (wrk, $CONNS
# connections, closed loop), alternating $ROUNDS times in one run so drift hits both alike.
# PostgreSQL, NATS, identity, customers and the gateway run on CPU $SUT_CPU, wrk on $LOAD_CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
SUT_CPU=${SUT_CPU:-1}; LOAD_CPU=${LOAD_CPU:-0}; CONNS=${CONNS:-4}; DURATION=${DURATION:-10}; ROUNDS=${ROUNDS:-3}
OUT=${OUT:-reports/bench-gateway-$(date -u +%Y%m%dT%H%M%SZ)}
BIN=/usr/lib/postgresql/15/bin; SECRET=bench-secret-$RANDOM$RANDOM
CRM_INSTALL_BENCH_TOOLS=1 scripts/install-deps.sh
mkdir -p "$OUT"; DIR=$(mktemp -d /tmp/crm-bench-gw.XXXX); PIDS=()
as_pg() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; as_pg "$BIN/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$DIR"; }
trap cleanup EXIT
PG=$(free_port); NATS=$(free_port); IDP=$(free_port); CUP=$(free_port); GWP=$(free_port)
as_pg "$BIN/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
taskset -c "$SUT_CPU" setpriv --reuid=postgres --regid=postgres --init-groups -- "$BIN/pg_ctl" -D "$DIR/data" \
  -l "$DIR/pg.log" -w -o "-p $PG -c listen_addresses=127.0.0.1 -c unix_socket_directories=$DIR -c max_connections=200" start >/dev/null
psql -h 127.0.0.1 -p "$PG" -U postgres -qc "CREATE DATABASE identity" -c "CREATE DATABASE customers"
mkdir -p "$DIR/nats"; taskset -c "$SUT_CPU" nats-server -js -sd "$DIR/nats" -a 127.0.0.1 -p "$NATS" >"$DIR/nats.log" 2>&1 & PIDS+=($!)
cargo build --release -p identity-svc -p customers-svc -p gateway
common=(CRM_NATS_URL=nats://127.0.0.1:$NATS CRM_INTERNAL_SECRET=$SECRET CRM_IDENTITY_URLS=http://127.0.0.1:$IDP RUST_LOG=warn)
taskset -c "$SUT_CPU" env "${common[@]}" CRM_DATABASE_URL=postgres://postgres@127.0.0.1:$PG/identity CRM_LISTEN=127.0.0.1:$IDP \
  ./target/release/identity-svc >"$OUT/identity.log" 2>&1 & PIDS+=($!)
taskset -c "$SUT_CPU" env "${common[@]}" CRM_DATABASE_URL=postgres://postgres@127.0.0.1:$PG/customers CRM_LISTEN=127.0.0.1:$CUP \
  ./target/release/customers-svc >"$OUT/customers.log" 2>&1 & PIDS+=($!)
taskset -c "$SUT_CPU" env CRM_INTERNAL_SECRET=$SECRET CRM_LISTEN=127.0.0.1:$GWP CRM_IDENTITY_URLS=http://127.0.0.1:$IDP \
  CRM_CUSTOMERS_URLS=http://127.0.0.1:$CUP RUST_LOG=warn ./target/release/gateway >"$OUT/gateway.log" 2>&1 & PIDS+=($!)
for p in $IDP $CUP $GWP; do for _ in $(seq 200); do curl -sf "http://127.0.0.1:$p/healthz" >/dev/null && break; sleep 0.1; done; done
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$CUP/readyz" >/dev/null && break; sleep 0.1; done
API=http://127.0.0.1:$GWP/api/v1
TOKEN=$(curl -sf "$API/auth/signup" -H 'content-type: application/json' \
  -d '{"tenant_name": "Bench", "name": "B", "email": "bench@gw.io", "password": "bench password"}' | jq -r .access_token)
for b in $(seq 10); do
  ITEMS=$(python3 -c "import json; print(json.dumps([{'name': f'Gateway Bench {$b}-{i}'} for i in range(100)]))")
  curl -sf "$API/companies/batch" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    -d "{\"mode\": \"create\", \"items\": $ITEMS}" | jq -r '.results[].data.id' >> "$DIR/ids"
done
cat > "$DIR/get.lua" <<LUA
local ids = {}
for line in io.lines("$DIR/ids") do ids[#ids + 1] = line end
math.randomseed(7)
request = function()
  return wrk.format("GET", "/api/v1/companies/" .. ids[math.random(#ids)], {["Authorization"] = "Bearer $TOKEN"})
end
LUA
run() { taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"$2" --latency -s "$DIR/get.lua" "http://127.0.0.1:$1"; }
run "$CUP" 5s >/dev/null; run "$GWP" 5s >/dev/null
for r in $(seq "$ROUNDS"); do
  run "$CUP" "${DURATION}s" > "$OUT/direct-$r.txt"; run "$GWP" "${DURATION}s" > "$OUT/gateway-$r.txt"
done
python3 - "$OUT" "$ROUNDS" "$CONNS" "$DURATION" <<'PY' | tee "$OUT/summary.md"
import re, sys, statistics
out, rounds, conns, dur = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def us(v):
    n, u = re.match(r"([\d.]+)(us|ms|s)", v).groups()
    return float(n) * {"us": 1, "ms": 1000, "s": 1e6}[u]
def read(path):
    t = open(path).read()
    p = {m.group(1): us(m.group(2)) for m in re.finditer(r"^\s+(50|99)%\s+(\S+)", t, re.M)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    return p["50"], p["99"], rps, int(bad.group(1)) if bad else 0
rows = []
for r in range(1, rounds + 1):
    d, g = read(f"{out}/direct-{r}.txt"), read(f"{out}/gateway-{r}.txt")
    rows.append((r, d, g))
print(f"# Gateway hop (wrk, {conns} connections, closed loop, {dur} s per run, {rounds} alternating rounds)\n")
print("| round | direct p50 | gateway p50 | added p50 | direct p99 | gateway p99 | added p99 | direct req/s | gateway req/s | non-2xx |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r, d, g in rows:
    print(f"| {r} | {d[0]:.0f} µs | {g[0]:.0f} µs | **{g[0]-d[0]:.0f} µs** | {d[1]:.0f} µs | {g[1]:.0f} µs | {g[1]-d[1]:.0f} µs | {d[2]:.0f} | {g[2]:.0f} | {d[3]+g[3]} |")
print(f"\nmedian added p50: **{statistics.median(g[0]-d[0] for _, d, g in rows):.0f} µs** (target ≤ 150 µs); "
      f"median added p99: {statistics.median(g[1]-d[1] for _, d, g in rows):.0f} µs")
PY
