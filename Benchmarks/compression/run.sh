#!/usr/bin/env bash
# Compression benchmark for the ParallelGzip library: gzip -6, pigz -6 and pgzip-bench side by side
# on two inputs, compress and decompress, in one run.
#   - media.tar: tar -cf of ../shared/corpus/media (real product JPEGs), or, when that corpus is
#     absent, of generated incompressible files of JPEG-like sizes.
#   - php.tar:   tar -cf of ~50 MB of seeded PHP-like source (pgzip-bench gen-php).
#   - php-real.tar: tar -cf of real PHP libraries (Symfony, Laminas, PHPUnit: what a Magento vendor/
#     holds), unpacked from Debian's packages with apt-get download (no install); skipped with a
#     note where apt cannot fetch them.
# Each timing is the best of REPEAT runs (default 3): the machine may be shared. Files live in
# /dev/shm when it exists so disk write-back does not blur the numbers.
# Usage: Benchmarks/compression/run.sh [php-bytes]   (release build; needs gzip and pigz)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PHP_BYTES="${1:-50000000}"
REPEAT="${REPEAT:-3}"
BASE="${TMPDIR:-/tmp}"
[ -d /dev/shm ] && [ -w /dev/shm ] && BASE=/dev/shm
WORK="$(mktemp -d "$BASE/pgzip-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
for tool in gzip pigz tar; do command -v "$tool" >/dev/null || { echo "$tool not installed" >&2; exit 1; }; done

(cd "$ROOT" && swift build -c release --product pgzip-bench >/dev/null)
BENCH="$ROOT/.build/release/pgzip-bench"

CORPUS="$ROOT/../shared/corpus/media"
if [ -d "$CORPUS" ]; then
  tar -cf "$WORK/media.tar" -C "$(dirname "$CORPUS")" media
else
  echo "note: $CORPUS absent, using generated incompressible files" >&2
  mkdir -p "$WORK/media"
  for i in $(seq 1 400); do "$BENCH" gen-noise "$i" $(( (i * 7919) % 300000 + 50000 )) > "$WORK/media/img$i.jpg"; done
  tar -cf "$WORK/media.tar" -C "$WORK" media
fi
mkdir -p "$WORK/php"
"$BENCH" gen-php 42 "$PHP_BYTES" | split -b 120000 -a 4 --additional-suffix=.php - "$WORK/php/File"
tar -cf "$WORK/php.tar" -C "$WORK" php
rm -rf "$WORK/php" "$WORK/media"

# Real PHP source: the .deb files are kept under Benchmarks/work/php-debs (git-ignored) between runs.
INPUTS="media php"
DEBS="$ROOT/Benchmarks/work/php-debs"
if ! ls "$DEBS"/*.deb >/dev/null 2>&1 && command -v apt-get >/dev/null; then
  mkdir -p "$DEBS"
  PKGS=$(apt-cache search --names-only '^(php-symfony-|php-laminas-|phpunit$)' 2>/dev/null | awk '{print $1}' | sort)
  [ -n "$PKGS" ] && (cd "$DEBS" && apt-get download $PKGS >/dev/null 2>&1) || true
fi
if ls "$DEBS"/*.deb >/dev/null 2>&1; then
  mkdir -p "$WORK/php-real"
  for deb in "$DEBS"/*.deb; do dpkg-deb -x "$deb" "$WORK/php-real"; done
  tar -cf "$WORK/php-real.tar" -C "$WORK/php-real/usr/share" php
  rm -rf "$WORK/php-real"
  echo "php-real.tar: $(ls "$DEBS"/*.deb | wc -l) Debian packages, $(tar -tf "$WORK/php-real.tar" | grep -c '\.php$') .php files"
  INPUTS="$INPUTS php-real"
else
  echo "note: no Debian PHP packages could be fetched; php-real.tar skipped" >&2
fi

now() { date +%s.%N; }
# run LABEL INPUT OUTPUT CMD...: runs CMD < INPUT > OUTPUT REPEAT times; prints "wall cpu" seconds of
# the fastest run (cpu = user + system of all its threads: the cost on a shared machine).
run() {
  local in="$2" out="$3"; shift 3; local best="" cpu="" line w c
  for _ in $(seq "$REPEAT"); do
    line=$( { TIMEFORMAT='%R %U %S'; time "$@" < "$in" > "$out"; } 2>&1 )
    w=$(awk '{print $1}' <<<"$line"); c=$(awk '{printf "%.2f", $2 + $3}' <<<"$line")
    if [ -z "$best" ] || awk -v a="$w" -v b="$best" 'BEGIN{exit !(a < b)}'; then best=$w; cpu=$c; fi
  done
  echo "$best $cpu"
}
mbps() { awk -v n="$1" -v s="$2" 'BEGIN{printf "%.0f", n/1e6/s}'; }

echo "cores: $(nproc)   load: $(cut -d" " -f1-3 /proc/loadavg)   best of $REPEAT   $(date -u +%FT%TZ)"
for name in $INPUTS; do
  IN="$WORK/$name.tar"; SIZE=$(stat -c %s "$IN")
  echo
  echo "== $name.tar: $SIZE bytes"
  read -r tg cg <<<"$(run gzip "$IN" "$WORK/g.gz" gzip -6)"
  read -r tp cp <<<"$(run pigz "$IN" "$WORK/p.gz" pigz -6)"
  read -r tf cf <<<"$(run pgzip "$IN" "$WORK/f.gz" "$BENCH" compress)"
  read -r t1 c1 <<<"$(run pgzip-1 "$IN" "$WORK/f1.gz" "$BENCH" compress --threads 1)"
  read -r tz cz <<<"$(run pgzip-zstd "$IN" "$WORK/f.zst" "$BENCH" compress --zstd)"
  read -r t4 c4 <<<"$(run pgzip-4 "$IN" "$WORK/f4.gz" "$BENCH" compress --level 4)"
  G=$(stat -c %s "$WORK/g.gz"); P=$(stat -c %s "$WORK/p.gz"); F=$(stat -c %s "$WORK/f.gz"); Z=$(stat -c %s "$WORK/f.zst")
  printf "%-34s %8s %8s %12s %10s\n" compress "MB/s" "cpu s" bytes "vs gzip-6"
  for row in "gzip -6:$tg:$cg:$G" "pigz -6:$tp:$cp:$P" "pgzip (adaptive gzip):$tf:$cf:$F" "pgzip --threads 1:$t1:$c1:$(stat -c %s "$WORK/f1.gz")" "pgzip --level 4:$t4:$c4:$(stat -c %s "$WORK/f4.gz")" "pgzip --zstd:$tz:$cz:$Z"; do
    IFS=: read -r label t c sz <<<"$row"
    printf "%-34s %8s %8s %12s %10s\n" "$label" "$(mbps "$SIZE" "$t")" "$c" "$sz" "$(awk -v a="$sz" -v b="$G" 'BEGIN{printf "%.4fx", a/b}')"
  done
  echo "pgzip --threads 1 vs gzip -6 (one core each): $(awk -v a="$tg" -v b="$t1" 'BEGIN{printf "%.2fx", a/b}') wall"
  echo "pgzip vs pigz -6: $(awk -v a="$tp" -v b="$tf" 'BEGIN{printf "%.2fx", a/b}') wall, $(awk -v a="$cp" -v b="$cf" 'BEGIN{printf "%.2fx", a/b}') cpu"
  echo "pgzip --level 4 vs pigz -6: $(awk -v a="$tp" -v b="$t4" 'BEGIN{printf "%.2fx", a/b}') wall"
  read -r tdp cdp <<<"$(run pigz-dc "$WORK/p.gz" /dev/null pigz -dc)"
  read -r tdpf cdpf <<<"$(run pigz-dc-own "$WORK/f.gz" /dev/null pigz -dc)"
  read -r tdg cdg <<<"$(run gzip-dc "$WORK/f.gz" /dev/null gzip -dc)"
  read -r tdf cdf <<<"$(run pgzip-d "$WORK/f.gz" /dev/null "$BENCH" decompress)"
  read -r tdgf cdgf <<<"$(run pgzip-d-foreign "$WORK/g.gz" /dev/null "$BENCH" decompress)"
  read -r tdz cdz <<<"$(run pgzip-d-zstd "$WORK/f.zst" /dev/null "$BENCH" decompress)"
  printf "%-34s %8s %8s\n" decompress "MB/s out" "cpu s"
  printf "%-34s %8s %8s\n" "pigz -dc (pigz output)" "$(mbps "$SIZE" "$tdp")" "$cdp" "pigz -dc (pgzip output)" "$(mbps "$SIZE" "$tdpf")" "$cdpf" \
    "gzip -dc (pgzip output)" "$(mbps "$SIZE" "$tdg")" "$cdg" "pgzip decompress (pgzip output)" "$(mbps "$SIZE" "$tdf")" "$cdf" \
    "pgzip decompress (gzip -6 output)" "$(mbps "$SIZE" "$tdgf")" "$cdgf" "pgzip decompress (zstd output)" "$(mbps "$SIZE" "$tdz")" "$cdz"
  echo "pgzip decompress vs pigz -dc: $(awk -v a="$tdp" -v b="$tdf" 'BEGIN{printf "%.2fx", a/b}') wall"
  "$BENCH" decompress < "$WORK/f.gz" | cmp - "$IN"
  "$BENCH" decompress < "$WORK/f.zst" | cmp - "$IN"
  echo "round trips verified (cmp)"
done
