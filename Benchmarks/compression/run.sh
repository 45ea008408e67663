#!/usr/bin/env bash
# Compression benchmark for the ParallelGzip library: gzip -6, pigz -6 and pgzip-bench side by side
# on two inputs, compress and decompress, in one run.
#   - media.tar: tar -cf of ../shared/corpus/media (real product JPEGs), or, when that corpus is
#     absent, of generated incompressible files of JPEG-like sizes.
#   - php.tar:   tar -cf of ~50 MB of seeded PHP-like source (pgzip-bench gen-php).
# Usage: Benchmarks/compression/run.sh [php-bytes]   (release build; needs gzip and pigz)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PHP_BYTES="${1:-50000000}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/pgzip-bench.XXXXXX")"
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

now() { date +%s.%N; }
# run LABEL INPUT OUTPUT CMD...: times CMD < INPUT > OUTPUT, prints seconds
run() { local in="$2" out="$3"; shift 3; local t0 t1; t0=$(now); "$@" < "$in" > "$out"; t1=$(now); awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}'; }
mbps() { awk -v n="$1" -v s="$2" 'BEGIN{printf "%.0f", n/1e6/s}'; }

echo "cores: $(nproc)   $(date -u +%FT%TZ)"
for name in media php; do
  IN="$WORK/$name.tar"; SIZE=$(stat -c %s "$IN")
  echo
  echo "== $name.tar: $SIZE bytes"
  tg=$(run gzip "$IN" "$WORK/g.gz" gzip -6)
  tp=$(run pigz "$IN" "$WORK/p.gz" pigz -6)
  tf=$(run pgzip "$IN" "$WORK/f.gz" "$BENCH" compress)
  tz=$(run pgzip-zstd "$IN" "$WORK/f.zst" "$BENCH" compress --zstd)
  G=$(stat -c %s "$WORK/g.gz"); P=$(stat -c %s "$WORK/p.gz"); F=$(stat -c %s "$WORK/f.gz"); Z=$(stat -c %s "$WORK/f.zst")
  printf "%-22s %8s %12s %10s\n" compress MB/s bytes "vs gzip-6"
  for row in "gzip -6:$tg:$G" "pigz -6:$tp:$P" "pgzip (adaptive gzip):$tf:$F" "pgzip --zstd:$tz:$Z"; do
    IFS=: read -r label t sz <<<"$row"
    printf "%-22s %8s %12s %10s\n" "$label" "$(mbps "$SIZE" "$t")" "$sz" "$(awk -v a="$sz" -v b="$G" 'BEGIN{printf "%.4fx", a/b}')"
  done
  echo "pgzip vs pigz -6 throughput: $(awk -v a="$tp" -v b="$tf" 'BEGIN{printf "%.2fx", a/b}')"
  tdp=$(run pigz-dc "$WORK/p.gz" /dev/null pigz -dc)
  tdpf=$(run pigz-dc-own "$WORK/f.gz" /dev/null pigz -dc)
  tdg=$(run gzip-dc "$WORK/f.gz" /dev/null gzip -dc)
  tdf=$(run pgzip-d "$WORK/f.gz" /dev/null "$BENCH" decompress)
  tdz=$(run pgzip-d-zstd "$WORK/f.zst" /dev/null "$BENCH" decompress)
  printf "%-34s %8s\n" decompress "MB/s out"
  printf "%-34s %8s\n" "pigz -dc (pigz output)" "$(mbps "$SIZE" "$tdp")" "pigz -dc (pgzip output)" "$(mbps "$SIZE" "$tdpf")" \
    "gzip -dc (pgzip output)" "$(mbps "$SIZE" "$tdg")" "pgzip decompress (pgzip output)" "$(mbps "$SIZE" "$tdf")" \
    "pgzip decompress (zstd output)" "$(mbps "$SIZE" "$tdz")"
  echo "pgzip decompress vs pigz -dc: $(awk -v a="$tdp" -v b="$tdf" 'BEGIN{printf "%.2fx", a/b}')"
  "$BENCH" decompress < "$WORK/f.gz" | cmp - "$IN"
  "$BENCH" decompress < "$WORK/f.zst" | cmp - "$IN"
  echo "round trips verified (cmp)"
done
