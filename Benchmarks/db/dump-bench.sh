#!/usr/bin/env bash
# Compares DBStream's SQLDumper (through the driver in Benchmarks/db/driver, release build)
# with `mariadb-dump --single-transaction --quick` and `mydumper -t 2` on a database made
# by generate.sh: wall time, peak RSS (/usr/bin/time -v) and output size, at each scale.
#
# Usage: Benchmarks/db/dump-bench.sh [--rows N] [--scales "1 4"] [--threads T] [--repeat R] [--restore] [--keep]
#   --rows     rows at scale 1 (default 3800000)
#   --scales   multipliers of --rows to run (default "1 4")
#   --threads  SQLDumper/SQLRestorer connections (default 2)
#   --repeat   runs of each dump tool, in turns; the fastest run counts (default 2), so
#              a tool is not penalised for running while the server still flushes the load
#   --restore  also load SQLDumper's output with SQLRestorer and with `mariadb < file`
#              (checked with CHECKSUM TABLE against the source)
# Uses the server at FASTBACKUP_TEST_MYSQL_SOCKET when set, else starts a private one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rows=3800000 scales="1 4" threads=2 keep=0 restore=0 repeat=2
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) rows=$2; shift 2 ;;
    --scales) scales=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --restore) restore=1; shift ;;
    --repeat) repeat=$2; shift 2 ;;
    *) echo "dump-bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

. "$root/scripts/lib/mariadb.sh"
started=0
if [ -z "${FASTBACKUP_TEST_MYSQL_SOCKET:-}" ]; then
  trap fastbackup_mariadb_stop EXIT
  fastbackup_mariadb_start
  started=1
fi
sock=$FASTBACKUP_TEST_MYSQL_SOCKET user=$FASTBACKUP_TEST_MYSQL_USER pw=$FASTBACKUP_TEST_MYSQL_PASSWORD
command -v /usr/bin/time >/dev/null || { echo "GNU time not installed (apt-get install time)" >&2; exit 1; }

(cd "$here/driver" && swift build -c release >/dev/null)
driver="$(cd "$here/driver" && swift build -c release --show-bin-path)/dbstream-dump"
work=$(mktemp -d "${TMPDIR:-/tmp}/fastbackup-dbbench.XXXXXX")
cleanup_work() { [ "$keep" = 1 ] || rm -rf "$work"; }
trap 'cleanup_work; [ "$started" = 1 ] && fastbackup_mariadb_stop' EXIT

# measure NAME CMD...: runs CMD under GNU time, prints "NAME seconds peak_kb".
measure() {
  local name=$1; shift
  /usr/bin/time -v -o "$work/$name.time" "$@" >/dev/null 2>"$work/$name.err" || { cat "$work/$name.err" >&2; return 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/$name.time")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/$name.time")
  echo "$name $wall $rss"
}

printf '%-6s %-13s %9s %10s %12s %8s\n' scale tool seconds peak_MiB output_MiB vs_fb
for scale in $scales; do
  n=$(( rows * scale )) db="fbt_dumpbench_$scale"
  "$here/generate.sh" --socket "$sock" --user "$user" --password "$pw" --database "$db" --rows "$n"
  sync
  fb_s="" fb_kb=0 md_s="" md_kb=0 my_s="" my_kb=0
  # best LABEL SECONDS KB: keeps the fastest time and the largest peak RSS of LABEL's runs.
  best() {
    local s_var=${1}_s kb_var=${1}_kb
    if [ -z "${!s_var}" ] || awk -v a="$2" -v b="${!s_var}" 'BEGIN { exit !(a < b) }'; then printf -v "$s_var" '%s' "$2"; fi
    [ "$3" -gt "${!kb_var}" ] && printf -v "$kb_var" '%s' "$3"
    return 0
  }
  for _ in $(seq 1 "$repeat"); do
    read -r _ s kb < <(measure fastbackup "$driver" --socket "$sock" --user "$user" --password "$pw" \
                         --database "$db" --out "$work/fb.sql" --threads "$threads")
    best fb "$s" "$kb"
    read -r _ s kb < <(measure mariadb-dump env MYSQL_PWD="$pw" sh -c \
        "exec mariadb-dump --no-defaults --socket='$sock' --user='$user' --single-transaction --quick '$db' > '$work/md.sql'")
    best md "$s" "$kb"
    md_size=$(stat -c %s "$work/md.sql"); rm -f "$work/md.sql"
    if command -v mydumper >/dev/null; then
      rm -rf "$work/mydumper"
      read -r _ s kb < <(measure mydumper mydumper --socket "$sock" --user "$user" --password "$pw" \
                           --database "$db" --outputdir "$work/mydumper" --threads 2 --trx-consistency-only)
      best my "$s" "$kb"
      my_size=$(du -sb "$work/mydumper" | cut -f1); rm -rf "$work/mydumper"
    fi
  done
  fb_size=$(stat -c %s "$work/fb.sql")
  rs_s="" rs_kb="" cl_s="" cl_kb=""
  if [ "$restore" = 1 ]; then
    q() { MYSQL_PWD="$pw" mariadb --no-defaults --socket="$sock" --user="$user" "$@"; }
    sums() { q -N -e "CHECKSUM TABLE catalog_product_entity_varchar, sales_order, sales_order_item" "$1" | awk '{print $2}' | tr '\n' ' '; }
    want=$(sums "$db")
    for target in "${db}_rs" "${db}_cl"; do q -e "DROP DATABASE IF EXISTS \`$target\`; CREATE DATABASE \`$target\`"; done
    read -r _ rs_s rs_kb < <(measure restore "$driver" --socket "$sock" --user "$user" --password "$pw" \
                               --database "${db}_rs" --restore "$work/fb.sql" --threads "$threads")
    read -r _ cl_s cl_kb < <(measure client env MYSQL_PWD="$pw" sh -c \
        "exec mariadb --no-defaults --socket='$sock' --user='$user' '${db}_cl' < '$work/fb.sql'")
    for target in "${db}_rs" "${db}_cl"; do
      [ "$(sums "$target")" = "$want" ] || { echo "FAIL: $target differs from $db (CHECKSUM TABLE)" >&2; exit 1; }
      q -e "DROP DATABASE \`$target\`"
    done
  fi
  rm -f "$work/fb.sql"
  row() { awk -v sc="${1}x" -v t="$2" -v s="$3" -v kb="$4" -v b="$5" -v fb="$fb_s" \
    'BEGIN { printf "%-6s %-13s %9.2f %10.1f %12.1f %7.2fx\n", sc, t, s, kb/1024, b/1048576, s/fb }'; }
  row "$scale" fastbackup "$fb_s" "$fb_kb" "$fb_size"
  row "$scale" mariadb-dump "$md_s" "$md_kb" "$md_size"
  [ -n "$my_s" ] && row "$scale" "mydumper -t2" "$my_s" "$my_kb" "$my_size"
  if [ -n "$rs_s" ]; then
    awk -v sc="${scale}x" -v a="$rs_s" -v akb="$rs_kb" -v b="$cl_s" -v bkb="$cl_kb" 'BEGIN {
      printf "%-6s %-13s %9.2f %10.1f %12s %8s\n", sc, "restore", a, akb/1024, "-", "1.00x"
      printf "%-6s %-13s %9.2f %10.1f %12s %7.2fx\n", sc, "mariadb <", b, bkb/1024, "-", b/a }'
  fi
  MYSQL_PWD="$pw" mariadb --no-defaults --socket="$sock" --user="$user" -e "DROP DATABASE \`$db\`"
  if [ "$fb_kb" -gt $(( 64 * 1024 )) ]; then echo "FAIL: peak RSS ${fb_kb} KiB above 64 MiB at scale $scale" >&2; exit 1; fi
done
