#!/usr/bin/env bash
# tests/pg/pg_server.sh start|stop STATE_DIR: a throw-away PostgreSQL server for the tests.
#
# start: initdb + pg_ctl start on 127.0.0.1, on a free port, with a data folder under /tmp owned
# by the user the server runs as (initdb refuses root: as root the server runs as `postgres`).
# The superuser is `postgres` with a random password (scram-sha-256 over TCP only, no socket
# outside the data folder). STATE_DIR/env then holds PGHOST, PGPORT, PGUSER and PGPASSWORD lines
# (the tests read it; nothing else does), STATE_DIR/datadir the data folder. A server already
# recorded in STATE_DIR is stopped first, so servers never pile up.
# stop: stops the recorded server by its pid (postmaster.pid), waits for it, removes the data.
# Durability is off (fsync, full pages): a test server, thrown away at the end. PG_DURABLE=1
# keeps PostgreSQL's defaults instead (bench/pg: a fair comparison with SQLite's synced commits).
# PG_SETTINGS adds "-c name=value" settings.
set -euo pipefail

cmd=${1:?usage: pg_server.sh start|stop STATE_DIR}
state=${2:?usage: pg_server.sh start|stop STATE_DIR}
mkdir -p "$state"

bindir=""
for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
  if [ -x "$d/initdb" ]; then bindir=$d; break; fi
done

stop_server() {
  [ -f "$state/datadir" ] || return 0
  local data pid
  data=$(cat "$state/datadir")
  if [ -f "$data/postmaster.pid" ]; then
    pid=$(head -1 "$data/postmaster.pid")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -INT "$pid" 2>/dev/null || true  # fast shutdown: sessions end, no checkpoint wait
      for _ in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  case "$data" in /tmp/sluice-pg.*) rm -rf "$data" ;; esac
  rm -f "$state/datadir" "$state/env"
}

if [ "$cmd" = stop ]; then
  stop_server
  exit 0
fi
[ "$cmd" = start ] || { echo "usage: pg_server.sh start|stop STATE_DIR" >&2; exit 2; }
if [ -z "$bindir" ]; then
  echo "pg_server.sh: no PostgreSQL server programs in /usr/lib/postgresql/*/bin;" \
       "run scripts/install-deps.sh (Debian package postgresql)" >&2
  exit 1
fi
stop_server

as_server=()
if [ "$(id -u)" -eq 0 ]; then as_server=(runuser -u postgres --); fi
data=$(mktemp -d /tmp/sluice-pg.XXXXXX)
echo "$data" >"$state/datadir"
password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
printf '%s\n' "$password" >"$data/pwfile"
if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$data"; fi
chmod 700 "$data"

"${as_server[@]}" "$bindir/initdb" -D "$data/db" -U postgres --pwfile="$data/pwfile" \
  --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C --no-sync \
  >"$data/initdb.log" 2>&1 || { cat "$data/initdb.log" >&2; exit 1; }
rm -f "$data/pwfile"

durability="-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
if [ "${PG_DURABLE:-0}" = 1 ]; then durability=""; fi
for attempt in 1 2 3 4 5; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  if "${as_server[@]}" "$bindir/pg_ctl" -D "$data/db" -l "$data/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $data $durability -c max_connections=300 \
          -c shared_buffers=128MB ${PG_SETTINGS:-}" \
      start >"$data/pg_ctl.log" 2>&1; then
    {
      echo "PGHOST=127.0.0.1"
      echo "PGPORT=$port"
      echo "PGUSER=postgres"
      echo "PGPASSWORD=$password"
    } >"$state/env"
    chmod 600 "$state/env"
    echo "pg_server.sh: PostgreSQL ($bindir) on 127.0.0.1:$port, data in $data"
    exit 0
  fi
  echo "pg_server.sh: start on port $port failed (attempt $attempt):" >&2
  tail -5 "$data/server.log" >&2 || true
done
exit 1
