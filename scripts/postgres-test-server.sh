#!/usr/bin/env bash
# A throwaway PostgreSQL server for the postgres connector's tests.
#
#   scripts/postgres-test-server.sh start [DIR]   initdb a cluster in DIR/data and start it
#                                                 on a free loopback port; prints the
#                                                 'export STREAMSQL_POSTGRES_URL=...' line
#   scripts/postgres-test-server.sh env [DIR]     prints that line again
#   scripts/postgres-test-server.sh stop [DIR]    stops the server (DIR is left for the caller)
#
# DIR defaults to ${TMPDIR:-/tmp}/streamsql-postgres. PostgreSQL comes from
# Debian (apt-get) when no server binaries are installed. The server refuses
# to run as root, so as root it runs as the 'postgres' user (created by the
# Debian package) and DIR is handed to that user; DIR's parents must be
# traversable by it (a directory made under /tmp is).
#
# Typical use:
#   eval "$(scripts/postgres-test-server.sh start)"
#   go test ./connectors/postgres/
#   scripts/postgres-test-server.sh stop
set -euo pipefail

cmd="${1:-}"
dir="${2:-${TMPDIR:-/tmp}/streamsql-postgres}"

die() { echo "postgres-test-server: $*" >&2; exit 1; }

# bindir finds the newest installed server's binaries.
bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"; return 0
  fi
  return 1
}

install_server() {
  command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is not installed and apt-get is not available: install the PostgreSQL server (initdb, pg_ctl) by hand"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "PostgreSQL is not installed and installing it needs root (no sudo)"
    sudo=(sudo)
  fi
  echo "postgres-test-server: installing PostgreSQL from Debian" >&2
  # Do not let the package create and start a system-wide 'main' cluster.
  "${sudo[@]}" mkdir -p /etc/postgresql-common
  if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    echo "create_main_cluster = false" | "${sudo[@]}" tee /etc/postgresql-common/createcluster.conf >/dev/null
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends postgresql >/dev/null 2>&1; then
    "${sudo[@]}" apt-get update -qq >/dev/null
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  fi
}

# as runs a command as the server's user.
as() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

url() {
  [ -f "$dir/port" ] || die "no server in $dir (run: $0 start $dir)"
  echo "export STREAMSQL_POSTGRES_URL='postgres://postgres@127.0.0.1:$(cat "$dir/port")/postgres?sslmode=disable'"
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
  local bin
  bin="$(bindir)" || { install_server; bin="$(bindir)" || die "PostgreSQL was installed but initdb/pg_ctl were not found"; }
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' user (created by Debian's postgresql-common)"
  fi
  mkdir -p "$dir"
  chmod 755 "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir"
    as test -w "$dir" || die "the postgres user cannot reach $dir (a parent directory is not traversable); use a directory under /tmp"
  fi
  if [ -f "$dir/data/postmaster.pid" ] && as "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    url; return 0
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync --no-instructions >"$dir/initdb.log" 2>&1 ||
      as "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
      die "initdb failed: $(tail -5 "$dir/initdb.log")"
  fi
  local try port
  for try in 1 2 3 4 5 6 7 8; do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    port_free "$port" || continue
    if as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c max_connections=200" start >/dev/null 2>&1; then
      echo "$port" >"$dir/port"
      url
      return 0
    fi
  done
  die "the server did not start; see $dir/server.log: $(tail -5 "$dir/server.log" 2>/dev/null)"
}

stop() {
  local bin
  [ -f "$dir/data/PG_VERSION" ] || return 0
  bin="$(bindir)" || die "initdb/pg_ctl not found"
  as "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -f "$dir/port"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  env) url ;;
  *) die "usage: $0 start|stop|env [DIR]" ;;
esac
