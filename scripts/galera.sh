#!/usr/bin/env bash
# A three-node MariaDB Galera cluster on one machine, for the cluster suites (CSK_GALERA_URLS), from Debian's
# `galera-4` and `rsync` packages and the installed MariaDB server:
#
#   scripts/galera.sh start            start nodes 1 (bootstrapping a new cluster), 2 and 3; print CSK_GALERA_URLS
#   scripts/galera.sh stop             stop every node, by its pid file, and wait until each has gone
#   scripts/galera.sh kill-node N      SIGKILL node N (a crash: the others must carry on)
#   scripts/galera.sh restart-node N   start node N again, after `--wsrep-recover` when it crashed, so that it rejoins
#                                      by an incremental state transfer
#   scripts/galera.sh urls             print CSK_GALERA_URLS
#
# Every node has its own --defaults-file, datadir, socket, pid file and ports, all on 127.0.0.1 (a server already on
# 3306 is never touched): SQL on $CSK_GALERA_PORT + N, group communication + 10, IST + 20, SST (rsync) + 30, with
# CSK_GALERA_PORT=4560 by default. The files live under $CSK_GALERA_DIR (/tmp/csk-galera). The servers run as the
# `mysql` user (as root, a joiner's rsync would drop to `nobody` and the state transfer fail). root@127.0.0.1 has no
# password, and the database $CSK_GALERA_DATABASE (csk) exists.
set -euo pipefail

DIR=${CSK_GALERA_DIR:-/tmp/csk-galera}
BASE=${CSK_GALERA_PORT:-4560}
DATABASE=${CSK_GALERA_DATABASE:-csk}
NODES=(1 2 3)
PROVIDER=${CSK_GALERA_PROVIDER:-/usr/lib/galera/libgalera_smm.so}
MARIADBD=${CSK_GALERA_MARIADBD:-/usr/sbin/mariadbd}

sql_port() { echo $((BASE + $1)); }
gcomm_port() { echo $((BASE + 10 + $1)); }
ist_port() { echo $((BASE + 20 + $1)); }
sst_port() { echo $((BASE + 30 + $1)); }
node_dir() { echo "$DIR/node$1"; }
# The pid as launched (the server writes its own pid file only once it has joined, after the state transfer).
pid_of() { cat "$(node_dir "$1")/launched.pid" 2>/dev/null || true; }
alive() { local pid; pid=$(pid_of "$1"); [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; }
client() { mariadb --no-defaults --protocol=socket --socket="$(node_dir "$1")/mariadbd.sock" -uroot "${@:2}"; }

urls() {
  local list=()
  for n in "${NODES[@]}"; do list+=("mysql://root@127.0.0.1:$(sql_port "$n")/$DATABASE"); done
  (IFS=,; echo "${list[*]}")
}

write_config() { # node
  local n=$1 d members=()
  d=$(node_dir "$n")
  for m in "${NODES[@]}"; do members+=("127.0.0.1:$(gcomm_port "$m")"); done
  cat >"$d/my.cnf" <<EOF
[mariadbd]
user = mysql
datadir = $d/data
socket = $d/mariadbd.sock
pid-file = $d/mariadbd.pid
log-error = $d/error.log
bind-address = 127.0.0.1
port = $(sql_port "$n")
skip-name-resolve
performance_schema = OFF
innodb_buffer_pool_size = 64M
innodb_log_file_size = 48M
binlog_format = ROW
default_storage_engine = InnoDB
innodb_autoinc_lock_mode = 2
wsrep_on = ON
wsrep_provider = $PROVIDER
wsrep_cluster_name = csk
wsrep_cluster_address = gcomm://$(IFS=,; echo "${members[*]}")
wsrep_node_name = node$n
wsrep_node_address = 127.0.0.1:$(gcomm_port "$n")
wsrep_sst_method = rsync
wsrep_sst_receive_address = 127.0.0.1:$(sst_port "$n")
wsrep_provider_options = "gmcast.listen_addr=tcp://127.0.0.1:$(gcomm_port "$n"); ist.recv_addr=127.0.0.1:$(ist_port "$n"); gcache.size=64M"
EOF
}

wait_ready() { # node, seconds
  local n=$1
  for _ in $(seq 1 "$2"); do
    if ! alive "$n"; then
      echo "galera: node $n exited; the end of $(node_dir "$n")/error.log:" >&2
      tail -n 30 "$(node_dir "$n")/error.log" >&2 || true
      return 1
    fi
    [[ $(client "$n" -N -e "show status like 'wsrep_ready'" 2>/dev/null | awk '{print $2}') == ON ]] && return 0
    sleep 1
  done
  echo "galera: node $n is not ready; the end of $(node_dir "$n")/error.log:" >&2
  tail -n 30 "$(node_dir "$n")/error.log" >&2 || true
  return 1
}

launch() { # node, extra mariadbd arguments...
  local n=$1 d
  d=$(node_dir "$n")
  # The server detaches from this shell's session (setsid, which execs it: $! is the server) so that it outlives it.
  setsid "$MARIADBD" --defaults-file="$d/my.cnf" "${@:2}" </dev/null >>"$d/stdout.log" 2>&1 &
  echo $! >"$d/launched.pid"
}

start() {
  for n in "${NODES[@]}"; do
    if alive "$n"; then echo "galera: node $n is running already (pid $(pid_of "$n")): stop first" >&2; return 1; fi
  done
  rm -rf "$DIR"
  mkdir -p "$DIR"
  chmod 755 "$DIR"
  for n in "${NODES[@]}"; do
    mkdir -p "$(node_dir "$n")/data"
    write_config "$n"
  done
  chown -R mysql:mysql "$DIR"
  # Only the first node gets a fresh system schema; the others receive everything by state transfer when they join.
  mariadb-install-db --defaults-file="$(node_dir 1)/my.cnf" --user=mysql --auth-root-authentication-method=socket \
    --skip-test-db >"$(node_dir 1)/install.log" 2>&1 || { cat "$(node_dir 1)/install.log" >&2; return 1; }
  launch 1 --wsrep-new-cluster
  wait_ready 1 60
  client 1 -e "create user if not exists 'root'@'127.0.0.1'; grant all on *.* to 'root'@'127.0.0.1' with grant option;
    create database if not exists \`$DATABASE\`"
  for n in "${NODES[@]:1}"; do
    launch "$n"
    wait_ready "$n" 120
  done
  local size
  size=$(client 1 -N -e "show status like 'wsrep_cluster_size'" | awk '{print $2}')
  [[ $size == "${#NODES[@]}" ]] || { echo "galera: the cluster has $size nodes, not ${#NODES[@]}" >&2; return 1; }
  echo "CSK_GALERA_URLS=$(urls)"
}

stop_node() { # node
  local n=$1 pid
  pid=$(pid_of "$n")
  [[ -n $pid ]] || return 0
  if kill -TERM "$pid" 2>/dev/null; then
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "galera: node $n (pid $pid) did not stop within 60 s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  # No stale pid left behind for another process to inherit.
  rm -f "$(node_dir "$n")/launched.pid"
}

stop() {
  # The last node to leave is the one the cluster would be bootstrapped from again: stop in reverse order.
  for ((i = ${#NODES[@]} - 1; i >= 0; i--)); do stop_node "${NODES[i]}"; done
}

kill_node() { # node
  local pid
  pid=$(pid_of "$1")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || { echo "galera: node $1 is not running" >&2; return 1; }
  kill -KILL "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}

restart_node() { # node
  local n=$1 d position
  d=$(node_dir "$n")
  if alive "$n"; then echo "galera: node $n is running" >&2; return 1; fi
  # After a crash the state file says nothing of where the node was (seqno -1): recover the position from InnoDB, so
  # that the node asks the cluster for only what it missed (IST) instead of a full copy (SST).
  if grep -q '^seqno:[[:space:]]*-1' "$d/data/grastate.dat" 2>/dev/null; then
    runuser -u mysql -- "$MARIADBD" --defaults-file="$d/my.cnf" --wsrep-recover --log-error="$d/recover.log" \
      </dev/null >/dev/null 2>&1 || true
    position=$(grep -o 'Recovered position: [^ ]*' "$d/recover.log" | tail -n 1 | awk '{print $3}')
    if [[ -n $position ]]; then
      launch "$n" --wsrep-start-position="$position"
      wait_ready "$n" 120
      return
    fi
  fi
  launch "$n"
  wait_ready "$n" 120
}

node_arg() {
  [[ ${1:-} =~ ^[1-3]$ ]] || { echo "galera: name a node, 1 to 3" >&2; exit 2; }
  echo "$1"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  kill-node) kill_node "$(node_arg "${2:-}")" ;;
  restart-node) restart_node "$(node_arg "${2:-}")" ;;
  urls) echo "CSK_GALERA_URLS=$(urls)" ;;
  *) echo "usage: $0 start | stop | kill-node N | restart-node N | urls" >&2; exit 2 ;;
esac
