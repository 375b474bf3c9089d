#!/usr/bin/env bash
# Cross-checks crm-load's figures against independent tools on one fixed-cost endpoint
# (crm-load's echo_server example, GET /ok, pinned to CPU 1; every load generator on CPU 0):
#   (a) peak rate: wrk -t1 -cN vs crm-load's saturation mode with the same N connections;
#   (b) latency at a fixed rate: oha -q RATE vs crm-load's open loop at RATE, uncorrected
#       against oha's default, corrected against oha --latency-correction;
#   (c) latency of one connection back to back: wrk -c1 --latency vs crm-load's saturation
#       mode with one connection (the same closed loop in two lean clients).
# Each pair runs REPEAT times, interleaved, and every ratio is printed: these machines are
# noisy, so compare within a run, never absolute times across runs. Also prints each tool's
# CPU time per request (user + sys), which contention on the machine moves much less.
#
# Every process runs at nice NICE (default -10, as root) so that other work on the machine
# disturbs the comparison less; all of them get the same priority.
#
# Needs wrk (Debian's `wrk`), jq, and oha (`cargo install oha --locked`; set OHA=path if it
# is not on PATH).
#
#   scripts/crosscheck-load.sh            # DURATION=10 CONNS=16 RATE=2000 REPEAT=3
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
CONNS=${CONNS:-16}
RATE=${RATE:-2000}
REPEAT=${REPEAT:-3}
PORT=${PORT:-18181}
NICE=${NICE:--10}
OHA=${OHA:-$(command -v oha || echo /tmp/oha-root/bin/oha)}

for tool in wrk jq taskset "$OHA"; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

cargo build -q -p crm-load --examples
bin=target/debug/examples
work=$(mktemp -d)
nice -n "$NICE" taskset -c 1 "$bin/echo_server" "$PORT" >"$work/server.out" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q listening "$work/server.out" && break; sleep 0.1; done
base=http://127.0.0.1:$PORT
url=$base/ok

# A load generator on CPU 0.
gen() { nice -n "$NICE" taskset -c 0 "$@"; }
# The same, with its user+sys CPU seconds written to $work/cpu; its stdout passes through.
timed_gen() { /usr/bin/time -f "%U %S" -o "$work/cpu" nice -n "$NICE" taskset -c 0 "$@"; }
cpu() { awk '{print $1 + $2}' "$work/cpu"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }
per_req_us() { awk -v c="$1" -v n="$2" 'BEGIN { printf "%.2f", (n > 0 ? c * 1e6 / n : 0) }'; }

# Warm the server (and the page cache) before measuring.
gen wrk -t1 -c"$CONNS" -d2s "$url" >/dev/null

echo "== (a) peak rate, $CONNS connections, ${DURATION}s, generator on CPU 0, server on CPU 1"
printf "%-4s %12s %12s %7s %14s %14s\n" run wrk_rps crm_rps ratio wrk_cpu_us/req crm_cpu_us/req
for i in $(seq "$REPEAT"); do
    w=$(timed_gen wrk -t1 -c"$CONNS" -d"${DURATION}s" "$url")
    w_rps=$(awk '/Requests\/sec/ {print $2}' <<<"$w")
    w_n=$(awk '/requests in/ {print $1}' <<<"$w")
    w_cpu=$(cpu)
    o=$(timed_gen "$bin/loadgen" saturate --url "$base" --connections "$CONNS" \
        --duration "$DURATION" --warmup 1)
    o_rps=$(jq .achieved_rate <<<"$o")
    o_n=$(jq '.requests + .warmup_requests' <<<"$o")
    o_cpu=$(cpu)
    printf "%-4s %12.0f %12.0f %7s %14s %14s\n" "$i" "$w_rps" "$o_rps" "$(ratio "$o_rps" "$w_rps")" \
        "$(per_req_us "$w_cpu" "$w_n")" "$(per_req_us "$o_cpu" "$o_n")"
done

echo
echo "== (b) latency at $RATE req/s, $CONNS connections, ${DURATION}s (µs)"
printf "%-4s %-10s %9s %9s %9s %9s %7s %7s\n" run kind oha_p50 crm_p50 oha_p99 crm_p99 r_p50 r_p99
for i in $(seq "$REPEAT"); do
    for kind in uncorrected corrected; do
        flag=()
        [[ $kind == corrected ]] && flag=(--latency-correction)
        gen "$OHA" -z "${DURATION}s" -q "$RATE" -c "$CONNS" --no-tui "${flag[@]}" \
            --output-format json "$url" >"$work/oha.json"
        h50=$(jq '.latencyPercentiles.p50 * 1e6' "$work/oha.json")
        h99=$(jq '.latencyPercentiles.p99 * 1e6' "$work/oha.json")
        o=$(gen "$bin/loadgen" open --url "$base" --rate "$RATE" \
            --connections "$CONNS" --duration "$DURATION" --warmup 1)
        c50=$(jq ".${kind}_us.p50" <<<"$o")
        c99=$(jq ".${kind}_us.p99" <<<"$o")
        printf "%-4s %-10s %9.0f %9.0f %9.0f %9.0f %7s %7s\n" "$i" "$kind" "$h50" "$c50" "$h99" "$c99" \
            "$(ratio "$c50" "$h50")" "$(ratio "$c99" "$h99")"
    done
done

# wrk prints "50%   45.12us" (or ms, s): microseconds.
wrk_pct() { awk -v p="$1" '$1 == p { v = $2; u = 1;
    if (v ~ /us$/) u = 1; else if (v ~ /ms$/) u = 1000; else if (v ~ /s$/) u = 1000000;
    sub(/[a-z]+$/, "", v); printf "%.0f", v * u }'; }

echo
echo "== (c) one connection back to back, ${DURATION}s (µs)"
printf "%-4s %9s %9s %9s %9s %7s %7s\n" run wrk_p50 crm_p50 wrk_p99 crm_p99 r_p50 r_p99
for i in $(seq "$REPEAT"); do
    w=$(gen wrk -t1 -c1 -d"${DURATION}s" --latency "$url")
    w50=$(wrk_pct 50% <<<"$w")
    w99=$(wrk_pct 99% <<<"$w")
    o=$(gen "$bin/loadgen" saturate --url "$base" --connections 1 --duration "$DURATION" --warmup 1)
    c50=$(jq .uncorrected_us.p50 <<<"$o")
    c99=$(jq .uncorrected_us.p99 <<<"$o")
    printf "%-4s %9s %9s %9s %9s %7s %7s\n" "$i" "$w50" "$c50" "$w99" "$c99" \
        "$(ratio "$c50" "$w50")" "$(ratio "$c99" "$w99")"
done
echo "(ratios are crm-load / other tool; targets: peak >= 0.9, latency within 10%)"
