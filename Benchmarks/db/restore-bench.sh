#!/usr/bin/env bash
# Compares DBStream's SQLRestorer (through the driver in Benchmarks/db/driver, release build)
# with `mariadb < dump.sql` (the same file) and `myloader -t 2` (a mydumper dump of the same
# database) on a database made by generate.sh: wall time and peak RSS (/usr/bin/time -v).
# Every restored copy is checked with CHECKSUM TABLE against the source.
#
# Usage: Benchmarks/db/restore-bench.sh [--rows N] [--threads "2 3"] [--repeat R] [--no-myloader]
#   --rows     rows in the generated database (default 3800000)
#   --threads  SQLRestorer data connections to try, one row each (default "2")
#   --repeat   runs of each tool, in turns; the fastest run counts (default 1)
# Uses the server at FASTBACKUP_TEST_MYSQL_SOCKET when set, else starts a private one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rows=3800000 threads_list="2" repeat=1 use_myloader=1
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) rows=$2; shift 2 ;;
    --threads) threads_list=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --no-myloader) use_myloader=0; shift ;;
    *) echo "restore-bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

. "$root/scripts/lib/mariadb.sh"
started=0
if [ -z "${FASTBACKUP_TEST_MYSQL_SOCKET:-}" ]; then
  fastbackup_mariadb_start
  started=1
fi
sock=$FASTBACKUP_TEST_MYSQL_SOCKET user=$FASTBACKUP_TEST_MYSQL_USER pw=$FASTBACKUP_TEST_MYSQL_PASSWORD
command -v /usr/bin/time >/dev/null || { echo "GNU time not installed (apt-get install time)" >&2; exit 1; }
command -v myloader >/dev/null && command -v mydumper >/dev/null || use_myloader=0

(cd "$here/driver" && swift build -c release >/dev/null)
driver="$(cd "$here/driver" && swift build -c release --show-bin-path)/dbstream-dump"
work=$(mktemp -d "${TMPDIR:-/tmp}/fastbackup-restorebench.XXXXXX")
db=fbt_restorebench
q() { MYSQL_PWD="$pw" mariadb --no-defaults --socket="$sock" --user="$user" "$@"; }
cleanup() {
  rm -rf "$work"
  q -e "DROP DATABASE IF EXISTS \`$db\`; DROP DATABASE IF EXISTS \`${db}_t\`" 2>/dev/null || true
  [ "$started" = 1 ] && fastbackup_mariadb_stop
  return 0
}
trap cleanup EXIT

# Server CPU seconds (user + system) of the private server, when this machine runs it: on a
# shared machine wall time swings with other load, CPU time much less.
server_pid=${FASTBACKUP_MARIADB_PID:-}
server_cpu() {
  if [ -n "$server_pid" ] && [ -r "/proc/$server_pid/stat" ]; then
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$server_pid/stat"
  else echo 0; fi
}
# measure NAME CMD...: runs CMD under GNU time, prints "seconds peak_kb client_cpu server_cpu".
measure() {
  local name=$1; shift
  local before after
  before=$(server_cpu)
  /usr/bin/time -v -o "$work/$name.time" "$@" >/dev/null 2>"$work/$name.err" || { cat "$work/$name.err" >&2; return 1; }
  after=$(server_cpu)
  awk -F': ' -v sc="$(awk -v a="$before" -v b="$after" 'BEGIN { print b - a }')" '
    /Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; w=s}
    /User time \(seconds\)/ {u=$2} /System time \(seconds\)/ {y=$2}
    /Maximum resident set size/ {r=$2} END {print w, r, u + y, sc}' "$work/$name.time"
}
sums() { q -N -e "CHECKSUM TABLE catalog_product_entity_varchar, sales_order, sales_order_item" "$1" | awk '{print $2}' | tr '\n' ' '; }

"$here/generate.sh" --socket "$sock" --user "$user" --password "$pw" --database "$db" --rows "$rows"
"$driver" --socket "$sock" --user "$user" --password "$pw" --database "$db" --out "$work/fb.sql" >/dev/null
if [ "$use_myloader" = 1 ]; then
  mydumper --socket "$sock" --user "$user" --password "$pw" --database "$db" --outputdir "$work/mydumper" \
    --threads 2 --trx-consistency-only >/dev/null 2>&1
fi
want=$(sums "$db")
size=$(stat -c %s "$work/fb.sql")

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A best_s best_kb best_cc best_sc
tools=()
for t in $threads_list; do tools+=("restore-t$t"); done
tools+=("mariadb")
[ "$use_myloader" = 1 ] && tools+=("myloader-t2")
for _ in $(seq 1 "$repeat"); do
  for tool in "${tools[@]}"; do
    q -e "DROP DATABASE IF EXISTS \`${db}_t\`; CREATE DATABASE \`${db}_t\`"
    sync
    case "$tool" in
      restore-t*)
        r=$(measure "$tool" "$driver" --socket "$sock" --user "$user" --password "$pw" --database "${db}_t" \
              --restore "$work/fb.sql" --threads "${tool#restore-t}") ;;
      mariadb)
        r=$(measure "$tool" env MYSQL_PWD="$pw" sh -c \
              "exec mariadb --no-defaults --socket='$sock' --user='$user' '${db}_t' < '$work/fb.sql'") ;;
      myloader-t2)
        r=$(measure "$tool" myloader --socket "$sock" --user "$user" --password "$pw" --directory "$work/mydumper" \
              --database "${db}_t" --threads 2 --overwrite-tables) ;;
    esac
    got=$(sums "${db}_t")
    [ "$got" = "$want" ] || { echo "FAIL: $tool restored a database that differs from the source (CHECKSUM TABLE)" >&2; exit 1; }
    read -r s kb cc sc <<<"$r"
    if [ -z "${best_s[$tool]:-}" ] || awk -v a="$s" -v b="${best_s[$tool]}" 'BEGIN { exit !(a < b) }'; then
      best_s[$tool]=$s best_cc[$tool]=$cc best_sc[$tool]=$sc
    fi
    if [ -z "${best_kb[$tool]:-}" ] || [ "$kb" -gt "${best_kb[$tool]}" ]; then best_kb[$tool]=$kb; fi
  done
done

ref=${best_s[mariadb]}
printf 'rows=%s dump=%.1f MiB, best of %s; load average before %s, after %s\n' "$rows" \
  "$(awk -v b="$size" 'BEGIN{print b/1048576}')" "$repeat" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-13s %9s %10s %14s %11s %11s\n' tool seconds peak_MiB "vs mariadb <" client_cpu server_cpu
for tool in "${tools[@]}"; do
  awk -v t="$tool" -v s="${best_s[$tool]}" -v kb="${best_kb[$tool]}" -v r="$ref" -v cc="${best_cc[$tool]}" \
    -v sc="${best_sc[$tool]}" 'BEGIN { printf "%-13s %9.2f %10.1f %13.2fx %10.2fs %10.2fs\n", t, s, kb/1024, r/s, cc, sc }'
done
