#!/bin/sh
# Creates each database named in CRM_DATABASES (space- or comma-separated) once, after initdb.
# Run (sourced) by deploy/postgres/entrypoint.sh and by the official postgres image alike.
for db in $(echo "${CRM_DATABASES:-}" | tr ',' ' '); do
  psql -v ON_ERROR_STOP=1 -U postgres -d postgres -q -c "CREATE DATABASE \"$db\""
done
