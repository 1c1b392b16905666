#!/usr/bin/env bash
# tests/pg/pg_server.sh start|stop|restart STATE_DIR: a throw-away PostgreSQL server for tests.
#
# start: initdb + pg_ctl start on 127.0.0.1, on a free port, with a data folder under /tmp owned
# by the user the server runs as (initdb refuses root: as root the server runs as `postgres`).
# The superuser is `postgres` with a random password (scram-sha-256 over TCP only, no socket
# outside the data folder). STATE_DIR/env then holds PGHOST, PGPORT, PGUSER and PGPASSWORD lines
# (the tests read it; nothing else does), STATE_DIR/datadir the data folder. A server already
# recorded in STATE_DIR is stopped first, so servers never pile up.
# stop: stops the recorded server by its pid (postmaster.pid), waits for it, removes the data.
# restart: stops the recorded server by its pid (fast shutdown: sessions are terminated) and
# starts it again on the same port with the same data (tests of a server restarted mid-run).
# Durability is off (fsync, full pages): a test server, thrown away at the end. PG_DURABLE=1
# keeps PostgreSQL's defaults instead (bench/pg: a fair comparison with SQLite's synced commits).
# PG_SETTINGS adds "-c name=value" settings; PG_PASSWORD (from the environment, never an
# argument) sets the superuser's password instead of a random one.
set -euo pipefail

cmd=${1:?usage: pg_server.sh start|stop|restart STATE_DIR}
state=${2:?usage: pg_server.sh start|stop|restart STATE_DIR}
mkdir -p "$state"

bindir=""
for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
  if [ -x "$d/initdb" ]; then bindir=$d; break; fi
done

# Stops the recorded server by its pid and waits for it to exit; keeps its data. SIGINT is a fast
# shutdown (sessions terminated, a shutdown checkpoint); SIGQUIT an immediate one, for a server
# whose data is thrown away.
halt_server() {
  local data=$1 signal=$2 pid
  if [ -f "$data/db/postmaster.pid" ]; then
    pid=$(head -1 "$data/db/postmaster.pid")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "-$signal" "$pid" 2>/dev/null || true
      for _ in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
      done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
}

stop_server() {
  [ -f "$state/datadir" ] || return 0
  local data
  data=$(cat "$state/datadir")
  halt_server "$data" QUIT
  case "$data" in /tmp/sluice-pg.*) rm -rf "$data" ;; esac
  rm -f "$state/datadir" "$state/env" "$state/options"
}

if [ "$cmd" = stop ]; then
  stop_server
  exit 0
fi
as_server=()
if [ "$(id -u)" -eq 0 ]; then as_server=(runuser -u postgres --); fi
if [ "$cmd" = restart ]; then
  [ -f "$state/options" ] || { echo "pg_server.sh: no server recorded in $state" >&2; exit 1; }
  data=$(cat "$state/datadir")
  halt_server "$data" INT
  "${as_server[@]}" "$bindir/pg_ctl" -D "$data/db" -l "$data/server.log" -w -t 60 \
    -o "$(cat "$state/options")" start >"$data/pg_ctl.log" 2>&1 ||
    { tail -5 "$data/server.log" >&2; exit 1; }
  echo "pg_server.sh: PostgreSQL restarted on 127.0.0.1:$(sed -n 's/^PGPORT=//p' "$state/env")"
  exit 0
fi
[ "$cmd" = start ] || { echo "usage: pg_server.sh start|stop|restart STATE_DIR" >&2; exit 2; }
if [ -z "$bindir" ]; then
  echo "pg_server.sh: no PostgreSQL server programs in /usr/lib/postgresql/*/bin;" \
       "run scripts/install-deps.sh (Debian package postgresql)" >&2
  exit 1
fi
stop_server

data=$(mktemp -d /tmp/sluice-pg.XXXXXX)
echo "$data" >"$state/datadir"
password=${PG_PASSWORD:-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')}
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
  options="-c listen_addresses=127.0.0.1 -p $port -k $data $durability -c max_connections=300 \
           -c shared_buffers=128MB ${PG_SETTINGS:-}"
  if "${as_server[@]}" "$bindir/pg_ctl" -D "$data/db" -l "$data/server.log" -w -t 60 \
      -o "$options" start >"$data/pg_ctl.log" 2>&1; then
    printf '%s\n' "$options" >"$state/options"
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
