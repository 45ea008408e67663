#!/usr/bin/env bash
# How fast can this machine create a code tree's files at all? Times, on a fresh journaled
# ext4 loop image (as the rollback cases use), GNU tar extracting the tree from an
# uncompressed tar in one process, and from two tars of its halves in two processes at once:
# no decompression, no staging, no checks, only the kernel's work per file and folder spread
# over two cores. Beside them, `tar -xzf` and `tar -I pigz -xf` of the same tree (the
# rollback cases' anchors). Half of an anchor's time below the two-process time means no
# extractor can be 2x that anchor on this machine; the two-process time plus half of what
# inflating the archive costs one core is the floor for an extractor that must also
# decompress (ISA-L's `igzip -dc > /dev/null` where installed, else `gzip -dc`, whose own
# inflater is about three times slower; libdeflate, which fastbackup uses, is about 1.3x
# faster than igzip on JPEG members).
#
# The media rollback's floor: --tree Benchmarks/work/src-cache-media-s1-corpus/pub/media
#
# Usage: Benchmarks/extract-floor.sh [--tree DIR] [--rounds N]
#   --tree    the code tree (default: the scale-1 code input Benchmarks/run made,
#             Benchmarks/work/src-s1-corpus without pub/media, pub/static and var)
#   --rounds  rounds of the three, in turns (default 5); prints each and the medians
# Run as root (mount). Needs about 1 GB under Benchmarks/work/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tree=$here/work/src-s1-corpus rounds=5
while [ $# -gt 0 ]; do
  case "$1" in
    --tree) tree=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "extract-floor.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "extract-floor.sh: run as root (it mounts a loop image)" >&2; exit 1; }
[ -d "$tree" ] || { echo "extract-floor.sh: no tree at $tree (run Benchmarks/run --cases code-rollback first, or give --tree)" >&2; exit 1; }

work=$(mktemp -d "$here/work/extract-floor.XXXXXX")
mnt=$work/mnt
cleanup() { umount "$mnt" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# The tree's entries in order, less what a code backup leaves out; the halves split that list.
(cd "$tree" && find . -mindepth 1 \( -path ./pub/media -o -path ./pub/static -o -path ./var \) -prune -o -print | sort) > "$work/all.list"
n=$(wc -l < "$work/all.list")
head -n $((n / 2)) "$work/all.list" > "$work/h1.list"
tail -n +$((n / 2 + 1)) "$work/all.list" > "$work/h2.list"
for part in all h1 h2; do (cd "$tree" && tar -cf "$work/$part.tar" --no-recursion -T "$work/$part.list"); done
(cd "$tree" && tar -cf - --no-recursion -T "$work/all.list" | gzip -6 > "$work/all.tgz")

truncate -s 2G "$work/volume.img"
mkfs.ext4 -q -F "$work/volume.img"
mkdir -p "$mnt"
mount -o loop "$work/volume.img" "$mnt"

fresh() { rm -rf "$mnt/a" "$mnt/b"; mkdir -p "$mnt/a" "$mnt/b"; sync; }
secs() { python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.3f}")' "$1" "$2"; }
inflater=gzip; command -v igzip >/dev/null && inflater=igzip
one=() two=() xzf=() pxf=() inflate=()
echo "$n entries from $tree; ext4 with journal on a loop image"
for r in $(seq 1 "$rounds"); do
  fresh; s=$(date +%s.%N); tar -xf "$work/all.tar" -C "$mnt/a"; one+=("$(secs "$s" "$(date +%s.%N)")")
  fresh; s=$(date +%s.%N); tar -xf "$work/h1.tar" -C "$mnt/a" & tar -xf "$work/h2.tar" -C "$mnt/b"; wait
  two+=("$(secs "$s" "$(date +%s.%N)")")
  fresh; s=$(date +%s.%N); tar -xzf "$work/all.tgz" -C "$mnt/a"; xzf+=("$(secs "$s" "$(date +%s.%N)")")
  fresh; s=$(date +%s.%N); tar -I pigz -xf "$work/all.tgz" -C "$mnt/a"; pxf+=("$(secs "$s" "$(date +%s.%N)")")
  s=$(date +%s.%N); "$inflater" -dc "$work/all.tgz" > /dev/null; inflate+=("$(secs "$s" "$(date +%s.%N)")")
  echo "round $r: tar -xf ${one[-1]} s, two tar -xf of halves ${two[-1]} s, tar -xzf ${xzf[-1]} s, tar -I pigz -xf ${pxf[-1]} s, $inflater -dc ${inflate[-1]} s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
m1=$(median "${one[@]}") m2=$(median "${two[@]}") mx=$(median "${xzf[@]}") mp=$(median "${pxf[@]}") mi=$(median "${inflate[@]}")
half() { python3 -c "print(f'{$1 / 2:.3f}')"; }
echo "medians: tar -xf $m1 s; two tar -xf of halves $m2 s; tar -xzf $mx s (half: $(half "$mx") s); tar -I pigz -xf $mp s (half: $(half "$mp") s); $inflater -dc $mi s"
echo "floor for an extractor that inflates too: $m2 + $mi / 2 = $(python3 -c "print(f'{$m2 + $mi / 2:.3f}')") s"
