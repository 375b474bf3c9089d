#!/bin/sh
# Starts PostgreSQL in a container: as root it prepares $PGDATA and re-runs itself as the
# postgres user (initdb and postgres refuse root); on an empty $PGDATA it runs initdb and the
# scripts in /docker-entrypoint-initdb.d against a server listening on its unix socket only;
# then it becomes `postgres` with this script's arguments (`-c name=value ...`).
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
: "${PGPORT:=5432}"
export PGDATA PGPORT

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA"
  # A data directory written under another uid (an image whose postgres user had another
  # one) is handed over whole; otherwise only the directory itself needs it.
  if [ "$(stat -c %u "$PGDATA")" != "$(id -u postgres)" ]; then
    chown -R postgres:postgres "$PGDATA"
  fi
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  initdb -D "$PGDATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
  if [ -n "$(ls -A /docker-entrypoint-initdb.d 2>/dev/null)" ]; then
    # The init server's log goes to a file, so "ready to accept connections" on stderr means
    # the real server.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c fsync=off" -l /tmp/initdb-server.log -w start >/dev/null
    for f in /docker-entrypoint-initdb.d/*; do
      case "$f" in
        *.sh) . "$f" ;;
        *.sql) psql -v ON_ERROR_STOP=1 -U postgres -d postgres -q -f "$f" ;;
      esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  fi
fi

exec postgres -D "$PGDATA" "$@"
