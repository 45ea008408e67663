#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, starts a private
# MariaDB server for the DB tests, runs `swift test`, then the benchmark
# harness in --quick mode (correctness only, no speed asserted).
set -euo pipefail
cd "$(dirname "$0")/.."
# The round trips with GNU tar and bsdtar use UTF-8 names (and owner names); under the C locale
# those tools print them escaped or refuse them. Debian always has C.UTF-8.
export LC_ALL=C.UTF-8
. scripts/lib/deps.sh
. scripts/lib/mariadb.sh
fastbackup_install_deps
trap 'rc=$?; fastbackup_mariadb_stop; exit $rc' EXIT
fastbackup_mariadb_start
echo "private MariaDB on $FASTBACKUP_TEST_MYSQL_SOCKET (port $FASTBACKUP_TEST_MYSQL_PORT)"
swift build --build-tests
swift test --skip-build
# The benchmark harness in --quick mode: every case runs on tiny inputs and its output is
# checked (no speed is asserted), so the harness cannot rot. Every fastbackup case must run.
Benchmarks/run --quick --require-fastbackup --no-build --binary "$(swift build --show-bin-path)/fastbackup"
