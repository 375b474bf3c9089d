#!/bin/sh
# Sets the postgres role's password from POSTGRES_PASSWORD once, after initdb (the image's
# entrypoint sources every script in /docker-entrypoint-initdb.d; the official image sets it
# from the same variable itself, and this repeats it harmlessly). Read from standard input so
# that psql quotes the value (:'pw') and it never appears in a process listing.
set -eu
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set (the Secret crm-secrets)}"
echo "ALTER ROLE postgres PASSWORD :'pw'" |
  psql -v ON_ERROR_STOP=1 -v pw="$POSTGRES_PASSWORD" -U postgres -d postgres -q
