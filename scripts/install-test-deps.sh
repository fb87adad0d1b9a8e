#!/usr/bin/env bash
# Installs what the test suite needs beyond Go: the sqlite3 CLI, the
# reference engine of tests/diff. Idempotent: does nothing (and touches no
# package index) when everything is already there.
set -euo pipefail

if command -v sqlite3 >/dev/null 2>&1; then
  echo "install-test-deps: sqlite3 already installed ($(sqlite3 --version | cut -d' ' -f1))"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: sqlite3 is missing and apt-get is not available; install the sqlite3 CLI by hand" >&2
  exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
# Try without refreshing the index first: on a warm image the package is
# already known and the update is wasted time.
if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends sqlite3 >/dev/null 2>&1; then
  echo "install-test-deps: running apt-get update"
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends sqlite3 >/dev/null
fi
echo "install-test-deps: installed sqlite3 ($(sqlite3 --version | cut -d' ' -f1))"
