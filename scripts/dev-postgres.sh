#!/usr/bin/env bash
# Starts a private PostgreSQL 15 cluster for manual runs and prints its URL.
# Usage: scripts/dev-postgres.sh [PORT]  (stop with: scripts/dev-postgres.sh stop)
set -euo pipefail
BIN=${CRM_PG_BIN:-/usr/lib/postgresql/15/bin}
DIR=${CRM_DEV_PG_DIR:-/tmp/crm-dev-pg}
PORT=${1:-55432}
as_pg() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; else "$@"; fi; }
if [ "${1:-}" = stop ]; then
  [ -d "$DIR/data" ] && as_pg "$BIN/pg_ctl" -D "$DIR/data" -m fast stop || true
  rm -rf "$DIR"; exit 0
fi
if [ ! -d "$DIR/data" ]; then
  mkdir -p "$DIR"; [ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"
  as_pg "$BIN/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
fi
as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w \
  -o "-p $PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$DIR -c max_connections=300" start >/dev/null
echo "postgres://postgres@127.0.0.1:$PORT/postgres"
