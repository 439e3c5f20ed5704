#!/bin/bash
# Starts PostgreSQL on $PGDATA; on first start initialises it with the superuser
# $POSTGRES_USER / $POSTGRES_PASSWORD, password (SCRAM) logins over TCP, and runs
# /docker-entrypoint-initdb.d/*.sh against a server listening on its socket only.
set -euo pipefail
: "${PGDATA:?}" "${POSTGRES_USER:=postgres}"
socket=/var/run/postgresql
if [[ ! -s $PGDATA/PG_VERSION ]]; then
  : "${POSTGRES_PASSWORD:?a new cluster needs POSTGRES_PASSWORD}"
  mkdir -p "$PGDATA"
  chmod 700 "$PGDATA"
  password_file=$(mktemp)
  printf '%s' "$POSTGRES_PASSWORD" >"$password_file"
  initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$password_file" \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$password_file"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -k $socket" -w start >/dev/null
  for script in /docker-entrypoint-initdb.d/*.sh; do
    [[ -e $script ]] || continue
    echo "titanium-postgres: running $script"
    PGHOST=$socket bash "$script"
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -k "$socket" "$@"
