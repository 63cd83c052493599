#!/usr/bin/env bash
# A PgBouncer in transaction pooling mode in front of the local PostgreSQL, for the live suite that runs the
# PostgreSQL conformance tests through a pooler (CSK_PGBOUNCER_URL). Uses Debian's `pgbouncer` package.
#
#   scripts/pgbouncer.sh start    start it (a no-op when this script's PgBouncer on that port already runs)
#   scripts/pgbouncer.sh stop     stop it, by the pid in its own pid file
#   scripts/pgbouncer.sh status   exit 0 when it runs
#
# Environment (defaults in brackets):
#   CSK_PGBOUNCER_PORT [6432]             the port it listens on, on 127.0.0.1 only
#   CSK_PGBOUNCER_DIR  [$TMPDIR/csk-pgbouncer-<port>]  its config, pid and log files
#   CSK_PGBOUNCER_UPSTREAM_HOST [127.0.0.1], CSK_PGBOUNCER_UPSTREAM_PORT [5432]  the PostgreSQL it pools
#
# Every database name is passed through to the server (`* =`), every client logs in as the user it names with no
# password (auth_type trust: a throwaway local pooler for tests, never for production), and each server connection
# is held for one transaction only (pool_mode transaction), as in most hosted and serverless PostgreSQL offerings.
set -euo pipefail

PORT=${CSK_PGBOUNCER_PORT:-6432}
DIR=${CSK_PGBOUNCER_DIR:-${TMPDIR:-/tmp}/csk-pgbouncer-$PORT}
UPSTREAM_HOST=${CSK_PGBOUNCER_UPSTREAM_HOST:-127.0.0.1}
UPSTREAM_PORT=${CSK_PGBOUNCER_UPSTREAM_PORT:-5432}
PIDFILE=$DIR/pgbouncer.pid
BIN=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)

# The pid in the pid file, when that process is still a pgbouncer (a stale file's pid may belong to anything now).
running_pid() {
  [[ -s $PIDFILE ]] || return 1
  local pid
  pid=$(<"$PIDFILE")
  [[ $pid =~ ^[0-9]+$ ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == pgbouncer ]] || return 1
  echo "$pid"
}

start() {
  [[ -x $BIN ]] || { echo "pgbouncer.sh: pgbouncer is not installed (apt-get install pgbouncer)" >&2; return 1; }
  if running_pid >/dev/null; then echo "pgbouncer.sh: already running on 127.0.0.1:$PORT"; return 0; fi
  mkdir -p "$DIR"
  cat >"$DIR/pgbouncer.ini" <<EOF
[databases]
* = host=$UPSTREAM_HOST port=$UPSTREAM_PORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PORT
unix_socket_dir =
auth_type = trust
auth_file = $DIR/userlist.txt
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
admin_users = postgres
ignore_startup_parameters = extra_float_digits
logfile = $DIR/pgbouncer.log
pidfile = $PIDFILE
EOF
  # With trust, the user a client names must still be listed; the password column is unused.
  printf '"postgres" ""\n"%s" ""\n' "$(id -un)" >"$DIR/userlist.txt"
  # PgBouncer refuses to run as root: then it drops to the postgres user, which must be able to write its files.
  local as_user=()
  if [[ $(id -u) -eq 0 ]]; then
    chown -R postgres "$DIR"
    as_user=(-u postgres)
  fi
  "$BIN" -d "${as_user[@]}" "$DIR/pgbouncer.ini"
  for _ in $(seq 1 50); do
    if running_pid >/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
      echo "pgbouncer.sh: running on 127.0.0.1:$PORT (pool_mode transaction, files in $DIR)"
      return 0
    fi
    sleep 0.2
  done
  echo "pgbouncer.sh: did not come up on 127.0.0.1:$PORT; its log:" >&2
  tail -n 20 "$DIR/pgbouncer.log" >&2 || true
  return 1
}

stop() {
  local pid
  if ! pid=$(running_pid); then echo "pgbouncer.sh: not running on 127.0.0.1:$PORT"; return 0; fi
  kill -TERM "$pid"
  for _ in $(seq 1 50); do
    [[ -d /proc/$pid ]] || { echo "pgbouncer.sh: stopped (pid $pid)"; return 0; }
    sleep 0.2
  done
  kill -KILL "$pid" 2>/dev/null || true
  echo "pgbouncer.sh: killed (pid $pid)"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) running_pid >/dev/null ;;
  *) echo "usage: scripts/pgbouncer.sh start|stop|status" >&2; exit 2 ;;
esac
