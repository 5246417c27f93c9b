#!/usr/bin/env bash
# Run a command (the test suite) with a PostgreSQL and a Redis to test against.
#
#   bash scripts/with-test-services.sh .venv/bin/python -m pytest ...
#
# The addresses come from DUTYLINE_TEST_PG_ADMIN (a libpq URL of a database the tests may
# CREATE DATABASE from; default postgresql://postgres@127.0.0.1:5432/test) and
# DUTYLINE_TEST_REDIS_URL (default redis://127.0.0.1:6379/0). A server that answers there
# is used as it is. Otherwise a throw-away one is started from Debian's postgresql /
# redis-server packages (a private data directory in a temp folder, a free port on
# 127.0.0.1, trust sign-in, no fsync), its address is exported to the command, and it is
# stopped and deleted when the command ends, fails or is interrupted.
set -uo pipefail
if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARG...]" >&2
  exit 2
fi

pg_url="${DUTYLINE_TEST_PG_ADMIN:-postgresql://postgres@127.0.0.1:5432/test}"
redis_url="${DUTYLINE_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"
work=""
pg_bin=""
pg_data=""
redis_port=""

say() { echo "test services: $*" >&2; }

# The newest installed server (Debian keeps them off PATH, one folder per major version).
find_pg_bin() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return; fi
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)"
}

free_port() {
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 40000))
    # Nothing accepts a connection there: free (bash's /dev/tcp, no extra tools).
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  return 1
}

pg_answers() {
  local psql=psql bin
  bin="$(find_pg_bin)" && [ -n "$bin" ] && psql="$bin/psql"
  PGCONNECT_TIMEOUT=3 "$psql" "$1" -Atqc 'select 1' >/dev/null 2>&1
}

redis_answers() {
  [ "$(timeout 3 redis-cli -u "$1" ping 2>/dev/null)" = "PONG" ]
}

# PostgreSQL refuses to run as root: as root, its files and processes belong to the
# postgres user Debian's package creates (or nobody).
owner=""
if [ "$(id -u)" -eq 0 ]; then
  owner=postgres
  id -u "$owner" >/dev/null 2>&1 || owner=nobody
fi
as_owner() {
  if [ -n "$owner" ]; then (cd "$work" && runuser -u "$owner" -- "$@"); else "$@"; fi
}

cleanup() {
  if [ -n "$pg_data" ] && [ -f "$pg_data/postmaster.pid" ]; then
    as_owner "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w stop >/dev/null 2>&1 \
      || say "could not stop PostgreSQL in $pg_data"
  fi
  if [ -n "$redis_port" ] && [ -f "$work/redis.pid" ]; then
    local pid
    pid="$(cat "$work/redis.pid")"
    kill "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  fi
  [ -n "$work" ] && rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_postgres() {
  pg_bin="$(find_pg_bin)"
  if [ -z "$pg_bin" ]; then
    say "no PostgreSQL answers at $pg_url and none is installed (run scripts/system-packages.sh)"
    exit 1
  fi
  local port
  port="$(free_port)" || { say "no free port for PostgreSQL"; exit 1; }
  pg_data="$work/pg"
  [ -z "$owner" ] || chown "$owner" "$work"
  as_owner "$pg_bin/initdb" -D "$pg_data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
    >"$work/initdb.log" 2>&1 || { cat "$work/initdb.log" >&2; exit 1; }
  if ! as_owner "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_data/server.log" -w -t 60 start \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $work -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    >/dev/null; then
    cat "$pg_data/server.log" >&2
    exit 1
  fi
  pg_url="postgresql://postgres@127.0.0.1:$port/postgres"
  say "started PostgreSQL at $pg_url (data in $pg_data, removed afterwards)"
}

start_redis() {
  if ! command -v redis-server >/dev/null 2>&1; then
    say "no Redis answers at $redis_url and redis-server is not installed (run scripts/system-packages.sh)"
    exit 1
  fi
  redis_port="$(free_port)" || { say "no free port for Redis"; exit 1; }
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$work" --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log"
  redis_url="redis://127.0.0.1:$redis_port/0"
  for _ in $(seq 100); do
    redis_answers "$redis_url" && break
    sleep 0.05
  done
  redis_answers "$redis_url" || { cat "$work/redis.log" >&2; exit 1; }
  say "started Redis at $redis_url"
}

need_work() { [ -n "$work" ] || work="$(mktemp -d -t dutyline-test-services.XXXXXX)"; }

if pg_answers "$pg_url"; then
  say "using the PostgreSQL at $pg_url"
else
  need_work
  start_postgres
fi
if redis_answers "$redis_url"; then
  say "using the Redis at $redis_url"
else
  need_work
  start_redis
fi

export DUTYLINE_TEST_PG_ADMIN="$pg_url" DUTYLINE_TEST_REDIS_URL="$redis_url"
"$@"
