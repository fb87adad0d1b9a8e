#!/usr/bin/env bash
# Installs what the test suite needs beyond Go: the sqlite3 CLI (the
# reference engine of tests/diff) and the PostgreSQL server (the postgres
# connector's tests start a throwaway cluster with
# scripts/postgres-test-server.sh). Idempotent: does nothing (and touches no
# package index) when everything is already there.
set -euo pipefail

have_postgres() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then return 0; fi
  done
  command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1
}

missing=()
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
have_postgres || missing+=(postgresql)

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-test-deps: sqlite3 ($(sqlite3 --version | cut -d' ' -f1)) and PostgreSQL already installed"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: missing ${missing[*]} and apt-get is not available; install them by hand" >&2
  exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
# The tests run their own cluster: keep the package from creating and
# starting a system-wide one.
if [[ " ${missing[*]} " == *" postgresql "* ]] && [ ! -e /etc/postgresql-common/createcluster.conf ]; then
  "${sudo[@]}" mkdir -p /etc/postgresql-common
  echo "create_main_cluster = false" | "${sudo[@]}" tee /etc/postgresql-common/createcluster.conf >/dev/null
fi
# Try without refreshing the index first: on a warm image the packages are
# already known and the update is wasted time.
if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
  echo "install-test-deps: running apt-get update"
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "install-test-deps: installed ${missing[*]}"
