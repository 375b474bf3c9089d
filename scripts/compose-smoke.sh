#!/usr/bin/env bash
# docker-compose.yml end to end: builds and starts the microservice CRM (or, with `monolith`,
# the monolith), signs up, logs in and creates a company through the public API, then takes
# it all down again and checks that none of its containers or volumes is left.
#
#   scripts/compose-smoke.sh [micro|monolith]
#
# Images as in docker-compose.yml (BASE_IMAGE, POSTGRES_IMAGE, NATS_IMAGE, CRM_BIN_DIR); the
# local defaults need crm-bench/base:bookworm, crm-bench/postgres:15 and crm-bench/nats:2
# (`crm-bench images`, or deploy/base-image.sh and `docker-compose --profile images build`).
set -euo pipefail
cd "$(dirname "$0")/.."

arch=${1:-micro}
project=crm-bench-smoke
compose=(docker-compose -p "$project")
case "$arch" in
  micro) up=(up -d --build); url=http://127.0.0.1:${CRM_GATEWAY_PORT:-18080} ;;
  monolith) up=(--profile monolith up -d --build monolith); url=http://127.0.0.1:${CRM_MONOLITH_PORT:-18081} ;;
  *) echo "usage: $0 [micro|monolith]" >&2; exit 2 ;;
esac
log=$(mktemp)

# `down` with the monolith's profile too, so it removes whatever either started.
down() { "${compose[@]}" --profile monolith down -v --remove-orphans >>"$log" 2>&1; }
cleanup() { down || true; rm -f "$log"; }
trap cleanup EXIT

started=$(date +%s.%N)
"${compose[@]}" "${up[@]}" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
# Ready: the public API's /readyz answers 200 (the gateway itself waits for every service's
# healthcheck). Not ready in time is a failure, with the containers' states and last logs.
timeout_s=${CRM_COMPOSE_READY_TIMEOUT:-180}
deadline=$(( $(date +%s) + timeout_s ))
until curl -fsS "$url/readyz" >/dev/null 2>&1; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    {
      echo "compose-smoke: $arch was not ready within ${timeout_s} s ($url/readyz; CRM_COMPOSE_READY_TIMEOUT)"
      "${compose[@]}" --profile monolith ps
      "${compose[@]}" --profile monolith logs --tail 15 --no-color
    } >&2
    exit 1
  fi
  sleep 0.5
done
ready=$(date +%s.%N)
awk -v a="$arch" -v s="$started" -v r="$ready" 'BEGIN { printf "%s up (docker-compose) and ready in %.1f s\n", a, r - s }'

email="smoke-$(date +%s)@compose.example"
curl -fsS -X POST "$url/api/v1/auth/signup" -H 'content-type: application/json' \
  -d "{\"tenant_name\":\"Compose Smoke\",\"name\":\"Smoke\",\"email\":\"$email\",\"password\":\"compose-smoke-password\"}" >/dev/null
token=$(curl -fsS -X POST "$url/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"compose-smoke-password\"}" | jq -r .access_token)
status=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$url/api/v1/companies" \
  -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"name":"Compose Smoke Ltd","domain":"compose-smoke.example"}')
[ "$status" = 201 ] || { echo "creating a company answered $status" >&2; exit 1; }
echo "signed up, logged in, created a company through $url"

down
left=$(docker ps -aq --filter "label=com.docker.compose.project=$project")
volumes=$(docker volume ls -q --filter "label=com.docker.compose.project=$project")
[ -z "$left$volumes" ] || { echo "left behind: $left $volumes" >&2; exit 1; }
echo "down: no container or volume of $project is left"
