#!/usr/bin/env bash
# The live database matrix (`pnpm test:matrix`): start the servers of docker-compose.yml, wait until each is healthy,
# run every dialect's conformance suite against them with its CSK_*_URL, and remove them.
#
#   pnpm test:matrix                  every suite
#   pnpm test:matrix mssql oracle     only these suites (names below)
#   CSK_MATRIX_KEEP=1 pnpm test:matrix  leave the containers running afterwards (remove: docker compose -p csk-matrix down -v)
#
# Needs Docker with the compose plugin (`docker compose`) or the standalone `docker-compose`. Ends with one line
# "N passed, N failed" counting suites, and exits non-zero when any suite failed.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM=(npx -y pnpm@12.4.2)
PROJECT=csk-matrix

# suite | compose service | package | environment (host ports and passwords as in docker-compose.yml)
SUITES=(
  "postgres|postgres cockroach|@csk/postgres|CSK_PG_URL=postgres://postgres:csk@127.0.0.1:15432/csk CSK_COCKROACH_URL=postgresql://root@127.0.0.1:26258/csk?sslmode=disable"
  "pgbouncer|postgres pgbouncer|@csk/postgres|CSK_PG_URL=postgres://postgres:csk@127.0.0.1:15432/csk CSK_PGBOUNCER_URL=postgres://postgres:csk@127.0.0.1:16432/csk"
  "mysql|mysql|@csk/mysql|CSK_MYSQL_URL=mysql://root:csk@127.0.0.1:13306/csk"
  "mariadb|mariadb|@csk/mysql|CSK_MYSQL_URL=mysql://root:csk@127.0.0.1:13307/csk"
  "galera|galera1 galera2 galera3|@csk/mysql|CSK_MYSQL_URL=mysql://root:csk@127.0.0.1:13311/csk CSK_GALERA_URLS=mysql://root:csk@127.0.0.1:13311/csk,mysql://root:csk@127.0.0.1:13312/csk,mysql://root:csk@127.0.0.1:13313/csk"
  "mssql|mssql|@csk/mssql|CSK_MSSQL_URL=mssql://sa:CskPassw0rd_@127.0.0.1:14330/csk"
  "oracle|oracle|@csk/oracle|CSK_ORACLE_URL=oracle://csk:csk@127.0.0.1:15210/FREEPDB1"
)

if docker compose version >/dev/null 2>&1; then
  COMPOSE=(docker compose -p "$PROJECT")
elif command -v docker-compose >/dev/null 2>&1; then
  COMPOSE=(docker-compose -p "$PROJECT")
else
  echo "test:matrix: needs Docker with the compose plugin, or docker-compose" >&2
  exit 2
fi

selected=()
for entry in "${SUITES[@]}"; do
  name=${entry%%|*}
  if [[ $# -eq 0 || " $* " == *" $name "* ]]; then selected+=("$entry"); fi
done
if [[ ${#selected[@]} -eq 0 ]]; then
  echo "test:matrix: no suite named $*; choose from: $(printf '%s ' "${SUITES[@]%%|*}")" >&2
  exit 2
fi

services=()
for entry in "${selected[@]}"; do
  IFS='|' read -r _ svc _ _ <<<"$entry"
  for s in $svc; do [[ " ${services[*]-} " == *" $s "* ]] || services+=("$s"); done
done

cleanup() { "${COMPOSE[@]}" down -v --remove-orphans >/dev/null 2>&1 || true; }
if [[ "${CSK_MATRIX_KEEP:-}" != 1 ]]; then trap cleanup EXIT; fi

# Wait for a healthy state: `up --wait` where compose has it, else poll each container's health (docker-compose 1.x).
wait_healthy() {
  local deadline=$((SECONDS + ${CSK_MATRIX_TIMEOUT:-900}))
  for s in "$@"; do
    local id status
    id=$("${COMPOSE[@]}" ps -q "$s")
    while :; do
      status=$(docker inspect -f '{{.State.Health.Status}}' "$id" 2>/dev/null || echo missing)
      [[ $status == healthy ]] && break
      if [[ $status == unhealthy || $status == missing || $SECONDS -ge $deadline ]]; then
        echo "test:matrix: $s is $status" >&2
        "${COMPOSE[@]}" logs --tail 50 "$s" >&2 || true
        return 1
      fi
      sleep 3
    done
    echo "test:matrix: $s is healthy"
  done
}

echo "test:matrix: starting ${services[*]}"
if "${COMPOSE[@]}" up --help 2>/dev/null | grep -q -- '--wait'; then
  "${COMPOSE[@]}" up -d --wait --wait-timeout "${CSK_MATRIX_TIMEOUT:-900}" "${services[@]}"
else
  "${COMPOSE[@]}" up -d "${services[@]}"
  wait_healthy "${services[@]}"
fi

# The conformance suites start child processes on each package's built dist/.
"${PNPM[@]}" run build

# CI=true: a live suite whose URL is missing fails instead of skipping, so no suite can pass unrun.
passed=0
failed=0
failures=()
for entry in "${selected[@]}"; do
  IFS='|' read -r name _ package environment <<<"$entry"
  read -r -a variables <<<"$environment" # split into NAME=value words, without globbing the '?' of a URL
  echo "test:matrix: == $name ($package) =="
  if env CI=true "${variables[@]}" "${PNPM[@]}" --filter "$package" test; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$name")
  fi
done

[[ $failed -eq 0 ]] || echo "test:matrix: failed: ${failures[*]}" >&2
echo "matrix: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
