#!/usr/bin/env bash
# Remakes the golden archives in this folder. Each is checked in, so the tests read exactly the
# bytes these commands wrote once (GNU tar 1.34, gzip 1.12, Debian 12) and a change in how
# fastbackup reads them shows up as a failing test, not as a silently regenerated fixture.
# Run from this folder: bash make.sh /path/to/fastbackup
set -euo pipefail
fastbackup=${1:?usage: make.sh /path/to/fastbackup}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
src=$work/src
long=$(printf 'd%.0s' $(seq 1 60))/$(printf 'n%.0s' $(seq 1 70)).txt
mkdir -p "$src/$(dirname "$long")" "$src/empty" "$src/café"
printf 'long name\n' > "$src/$long"
printf 'naïve\n' > "$src/café/naïve.txt"
printf 'plain\n' > "$src/plain.txt"
ln -s "$long" "$src/link-to-long"
ln "$src/plain.txt" "$src/hard.txt"
touch -h -d @1700000000 "$src/$long" "$src/café/naïve.txt" "$src/plain.txt" "$src/link-to-long" "$src/empty" "$src/café" "$src/$(dirname "$long")"
common=(--owner=0 --group=0 --numeric-owner --mtime=@1700000000 --sort=name -C "$src" .)

# GNU format: the long name and link target in ././@LongLink (L and K) entries.
tar --format=gnu -cf gnu-long-names.tar "${common[@]}"
# pax: UTF-8 names in path records; atime and ctime left out so the bytes do not change.
tar --format=pax --pax-option=delete=atime,delete=ctime -cf pax-utf8.tar "${common[@]}"
# ustar through gzip -9 (one member), as a plain `tar -czf` makes it.
tar --format=ustar -cf - --owner=0 --group=0 --numeric-owner --mtime=@1700000000 --sort=name -C "$src" plain.txt hard.txt café | gzip -9n > ustar-gzip.tgz

# fastbackup's own: a media backup of the same tree (multi-member gzip, FB size subfields).
store=$work/store
mkdir -p "$store/app/etc" "$store/pub"
printf '<?php return [];\n' > "$store/app/etc/env.php"
cp -a "$src" "$store/pub/media"
"$fastbackup" setup:backup --media --no-maintenance --root "$store" >/dev/null
cp "$store"/var/backups/*_filesystem_media.tgz fastbackup-media.tgz
