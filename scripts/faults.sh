#!/usr/bin/env bash
# Fault runs, counted (scripts/faults.py): fastbackup killed with SIGKILL at random moments of a
# backup and of a rollback, and run under libfiu (fiu-run) with failing read, write, open, close,
# fsync, rename, unlink, opendir and readdir calls; after each, the store and the backups are
# checked. Exits 1 on any fault.
#   scripts/faults.sh --quick       4 trials of each kind (part of scripts/test.sh)
#   scripts/faults.sh               40 trials of each kind (the README's figures)
#   scripts/faults.sh --trials N --seed S --json FILE
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/deps.sh
fastbackup_install_deps fiu-utils
trials=40
args=()
while [ $# -gt 0 ]; do
  case $1 in
    --quick) trials=4 ;;
    --trials) trials=$2; shift ;;
    *) args+=("$1") ;;
  esac
  shift
done
binary=${FASTBACKUP_BINARY:-}
if [ -z "$binary" ]; then
  swift build >/dev/null
  binary="$(swift build --show-bin-path)/fastbackup"
fi
exec python3 scripts/faults.py --binary "$binary" --trials "$trials" "${args[@]}"
