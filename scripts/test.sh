#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, starts a private
# MariaDB server for the DB tests, runs `swift test`, the fault runs in --quick mode
# (scripts/faults.sh), then the benchmark harness in --quick mode (correctness only, no speed
# asserted).
# Long mode (--long, or FASTBACKUP_LONG=1; a few minutes more): then builds the Debian package
# from this tree and installs and runs it in a fresh Debian 12 root (scripts/install-test.sh).
set -euo pipefail
case ${1:-} in --long) FASTBACKUP_LONG=1 ;; esac
cd "$(dirname "$0")/.."
# The round trips with GNU tar and bsdtar use UTF-8 names (and owner names); under the C locale
# those tools print them escaped or refuse them. Debian always has C.UTF-8.
export LC_ALL=C.UTF-8
. scripts/lib/deps.sh
. scripts/lib/mariadb.sh
fastbackup_install_deps
FASTBACKUP_CEPH_DIR=""
stop_servers() {
  fastbackup_mariadb_stop
  if [ -n "$FASTBACKUP_CEPH_DIR" ]; then scripts/ceph-rgw.sh stop "$FASTBACKUP_CEPH_DIR" >/dev/null 2>&1 || true; rm -rf "$FASTBACKUP_CEPH_DIR"; fi
}
trap 'rc=$?; stop_servers; exit $rc' EXIT
fastbackup_mariadb_start
echo "private MariaDB on $FASTBACKUP_TEST_MYSQL_SOCKET (port $FASTBACKUP_TEST_MYSQL_PORT)"
# A private one-node Ceph cluster with the RADOS Gateway, for the object store tests. A short
# folder name: Ceph's admin sockets must fit in 107 bytes.
FASTBACKUP_CEPH_DIR=$(mktemp -d /tmp/fbceph.XXXXXX)
if scripts/ceph-rgw.sh start "$FASTBACKUP_CEPH_DIR" >"$FASTBACKUP_CEPH_DIR.log" 2>&1; then
  . "$FASTBACKUP_CEPH_DIR/env"
  # The fault tests kill the gateway and start it again through the script and this folder.
  export FASTBACKUP_TEST_S3_ENDPOINT="$S3_ENDPOINT" AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY FASTBACKUP_TEST_CEPH_DIR="$FASTBACKUP_CEPH_DIR" \
    FASTBACKUP_TEST_S3_TLS_ENDPOINT="$S3_TLS_ENDPOINT" FASTBACKUP_TEST_S3_CA_BUNDLE="$S3_CA_BUNDLE"
  echo "private object store (Ceph RGW) on $S3_ENDPOINT"
  rm -f "$FASTBACKUP_CEPH_DIR.log"
else
  cat "$FASTBACKUP_CEPH_DIR.log" >&2
  # Under CI the object store tests must run, not skip.
  if [ "${CI:-}" = true ]; then echo "the object store did not start" >&2; exit 1; fi
  echo "the object store did not start: the object store tests will skip" >&2
fi
swift build --build-tests
swift test --skip-build
# Fault runs in --quick mode: kills at random moments and failing system calls (libfiu), each
# followed by checks of the store and the backups; any fault fails the run.
FASTBACKUP_BINARY="$(swift build --show-bin-path)/fastbackup" scripts/faults.sh --quick
# The benchmark harness in --quick mode: every case runs on tiny inputs and its output is
# checked (no speed is asserted), so the harness cannot rot. Every fastbackup case must run.
Benchmarks/run --quick --require-fastbackup --no-build --binary "$(swift build --show-bin-path)/fastbackup"
# The package as a server gets it, with the private MariaDB server above for its database part.
# --dirty: the long mode tests the tree as it is, uncommitted edits included.
if [ "${FASTBACKUP_LONG:-}" = 1 ]; then
  deb=$(scripts/package.sh --dirty)
  scripts/install-test.sh "$deb"
fi
