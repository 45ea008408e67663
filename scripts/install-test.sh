#!/usr/bin/env bash
# Installs the Debian package where it will run: a fresh Debian 12 (bookworm) root with no
# Swift toolchain, entered with chroot. Checks, in order:
#   - scripts/package.sh refuses a dirty tree without --dirty (in a temporary clone);
#   - the bare binary copied into the root, before its libraries are there, fails with the
#     loader's message naming a missing library;
#   - `apt-get install -y ./fastbackup_*.deb` pulls the dependencies from Debian's mirror
#     (and libcurl4, recommended);
#   - fastbackup --help, `man fastbackup` (man-db in the root), the bash completion, libcurl
#     found by dlopen for s3:// targets and the message naming libcurl4 once it is removed;
#   - setup:backup, info:backups:list and setup:rollback of a small Magento-shaped store made
#     in the root (code and media; the database too when a server is given, see below): the
#     restored tree has every file's content, mode, size, mtime and link target back.
#
# Usage: scripts/install-test.sh [DEB]   (root; default DEB: the newest dist/fastbackup_*.deb)
#
# The root is made once with debootstrap --variant=minbase --include=man-db and kept as
# ${XDG_CACHE_HOME:-$HOME/.cache}/fastbackup/bookworm-root.tar (FASTBACKUP_CACHE_DIR overrides
# the folder; delete the tarball to make a new root); each run unpacks a copy. Mirror:
# FASTBACKUP_DEBIAN_MIRROR (default http://deb.debian.org/debian).
# Database: with FASTBACKUP_TEST_MYSQL_SOCKET, _USER and _PASSWORD (scripts/test.sh exports
# them for its private server) the socket is bound into the root and the run backs up and
# restores a small database too, compared table by table with CHECKSUM TABLE; without them
# that part is skipped with a message.
# Everything runs in a private mount namespace; the EXIT trap unmounts what it mounted and
# removes the copy only once nothing is mounted below it.
#
# Measured here (2 cores, deb.debian.org): cold 41-56 s (debootstrap 28-36 s, a 205 MB
# tarball), warm 12-22 s (with or without the database part); apt-get install takes 5-9 s.
set -euo pipefail
# The package's path as given, before the cd below changes what a relative path means.
deb=${1:+$(realpath -m -- "$1")}
cd "$(dirname "$0")/.."
repo=$(pwd)

MIRROR=${FASTBACKUP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE_DIR=${FASTBACKUP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fastbackup}
ROOT_TAR=$CACHE_DIR/bookworm-root.tar
STORE=/srv/store                   # inside the root
SOCKET_IN_ROOT=/run/mysqld/mysqld.sock

say() { echo "install-test: $*"; }
fail() { echo "install-test: FAILED: $*" >&2; exit 1; }
begin() { step=$1; echo "== $1"; }
indent() { sed 's/^/   /'; }

[ "$(id -u)" -eq 0 ] || fail "run as root: it uses debootstrap, chroot and mount"
# Mounts made in a private namespace cannot leak to the host, even if this shell is killed.
if [ -z "${FASTBACKUP_INSTALL_TEST_NS:-}" ]; then
  FASTBACKUP_INSTALL_TEST_NS=1 exec unshare --mount --propagation private "$repo/scripts/install-test.sh" ${deb:+"$deb"}
fi

[ -n "$deb" ] || deb=$(ls -t dist/fastbackup_*.deb 2>/dev/null | head -1 || true)
[ -n "$deb" ] || fail "no dist/fastbackup_*.deb: build one with scripts/package.sh, or name one"
[ -f "$deb" ] || fail "$deb: no such file"
deb=$(realpath "$deb")

step="start"
work=""
mounts=()
db_name=""
started=$SECONDS

# Mount points under $work; anything left mounted there means `rm -rf` would reach the host
# (the root's /dev is the host's /dev), so removal is refused instead.
mounted_below() { awk -v p="$1/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo; }

remove_tree() {
  local left
  left=$(mounted_below "$1")
  if [ -n "$left" ]; then echo "install-test: leaving $1 in place, still mounted: $left" >&2; return 1; fi
  rm -rf --one-file-system "$1"
}

unmount_all() {
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}" || true
  done
  mounts=()
}

cleanup() {
  local rc=$?
  trap - EXIT
  # A signal's trap runs inside whatever redirection was active (apt-get's log, say): speak
  # to the caller's stdout and stderr again.
  exec 1>&"$out_fd" 2>&"$err_fd"
  if [ -n "$db_name" ]; then mysql_host -e "DROP DATABASE IF EXISTS \`$db_name\`" || true; fi
  unmount_all
  if [ -n "$work" ]; then remove_tree "$work" || rc=1; fi
  if [ $rc -ne 0 ]; then echo "install-test: FAILED during: $step (exit $rc)" >&2; fi
  exit $rc
}
exec {out_fd}>&1 {err_fd}>&2
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

work=$(mktemp -d "${TMPDIR:-/tmp}/fastbackup-install.XXXXXX")
root=$work/root

# Inside the root: a clean environment, so nothing of the host's (PATH to a Swift toolchain,
# LD_LIBRARY_PATH) can make the binary work where a server would not.
in_root() {
  chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

mysql_host() {
  mariadb --no-defaults --socket="$FASTBACKUP_TEST_MYSQL_SOCKET" -u"$FASTBACKUP_TEST_MYSQL_USER" \
    -p"$FASTBACKUP_TEST_MYSQL_PASSWORD" "$@"
}

check_dirty_refusal() {
  begin "package.sh refuses a dirty tree (temporary clone)"
  local clone=$work/clone out rc=0
  git clone -q --shared "$repo" "$clone"
  # The scripts being tested, not the committed ones.
  cp scripts/package.sh "$clone/scripts/package.sh"
  cp scripts/lib/deps.sh "$clone/scripts/lib/deps.sh"
  cp VERSION "$clone/VERSION"
  echo "an uncommitted line" >> "$clone/README.md"
  out=$("$clone/scripts/package.sh" 2>&1) || rc=$?
  echo "$out" | indent
  [ $rc -ne 0 ] || fail "package.sh built from a dirty tree without --dirty"
  grep -q -- '--dirty' <<<"$out" && grep -q 'README.md' <<<"$out" \
    || fail "package.sh's refusal does not name the changed file and --dirty"
  [ ! -e "$clone/dist" ] && [ ! -e "$clone/.build-release" ] || fail "package.sh built something before refusing"
  rm -rf "$clone"
}

# debootstrap once; later runs unpack the tarball (seconds instead of minutes).
cached_root() {
  if [ -f "$ROOT_TAR" ]; then
    begin "Debian 12 root from the cache ($ROOT_TAR)"; return
  fi
  begin "making a Debian 12 root with debootstrap (cached as $ROOT_TAR)"
  . scripts/lib/deps.sh
  fastbackup_install_deps debootstrap
  mkdir -p "$CACHE_DIR"
  local tmp t0=$SECONDS
  tmp=$(mktemp -d "$CACHE_DIR/bookworm-root.XXXXXX")
  if ! debootstrap --variant=minbase --include=man-db bookworm "$tmp/root" "$MIRROR" >"$tmp/log" 2>&1; then
    tail -20 "$tmp/log" >&2
    remove_tree "$tmp" || true
    fail "debootstrap bookworm from $MIRROR failed"
  fi
  tar -C "$tmp/root" --numeric-owner -cf "$tmp/root.tar" .
  mv "$tmp/root.tar" "$ROOT_TAR"
  remove_tree "$tmp"
  say "debootstrap took $((SECONDS - t0)) s; $(du -h "$ROOT_TAR" | cut -f1) cached"
}

enter_root() {
  mkdir "$root"
  tar -C "$root" --numeric-owner -xpf "$ROOT_TAR"
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  mount -t proc proc "$root/proc"; mounts+=("$root/proc")
  mount --bind /dev "$root/dev"; mounts+=("$root/dev")
  if in_root sh -c 'command -v swift || ls /usr/lib/swift /opt/swift' >/dev/null 2>&1; then
    fail "the root has a Swift toolchain: it would hide a missing static runtime"
  fi
}

check_bare_binary() {
  begin "the bare binary, copied in before its libraries are installed"
  local out rc=0
  dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/bin/fastbackup > "$root/usr/local/bin/fastbackup"
  chmod 0755 "$root/usr/local/bin/fastbackup"
  out=$(in_root /usr/local/bin/fastbackup --help 2>&1) || rc=$?
  echo "$out" | indent
  [ $rc -ne 0 ] || fail "the bare binary ran without its libraries"
  grep -q 'lib[A-Za-z0-9_+-]*\.so' <<<"$out" || fail "the failure message names no missing library"
  rm "$root/usr/local/bin/fastbackup"
}

install_package() {
  begin "apt-get install ./$(basename "$deb") (dependencies from $MIRROR)"
  local before t0=$SECONDS
  cp "$deb" "$root/tmp/"
  before=$(in_root dpkg-query -W -f='${Package}\n' | sort)
  in_root apt-get update -qq >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; fail "apt-get update in the root"; }
  in_root apt-get install -y -q "/tmp/$(basename "$deb")" >"$work/apt.log" 2>&1 \
    || { cat "$work/apt.log" >&2; fail "apt-get install of the package"; }
  say "installed in $((SECONDS - t0)) s, with: $(comm -13 <(echo "$before") <(in_root dpkg-query -W -f='${Package}\n' | sort) | tr '\n' ' ')"
  local dep
  for dep in $(dpkg-deb -f "$deb" Depends Recommends | sed -e 's/^[A-Za-z-]*: //' -e 's/([^)]*)//g' -e 's/[,|]/ /g'); do
    in_root dpkg-query -W -f='${Status}' "$dep" | grep -q 'install ok installed' || fail "$dep is not installed"
  done
  in_root sh -c 'find / -xdev -name "libswift*.so*" | grep -q .' && fail "a Swift runtime library is in the root"
  return 0
}

check_commands() {
  begin "fastbackup --help, man fastbackup, the bash completion"
  in_root fastbackup --help > "$work/help" || fail "fastbackup --help exits non-zero"
  grep -q 'setup:backup' "$work/help" || fail "fastbackup --help does not list setup:backup"
  head -1 "$work/help" | indent
  # man-db's own lookup (man fastbackup, not man -l), with groff's warnings on.
  in_root env MANWIDTH=80 MANPAGER=cat man --warnings fastbackup >"$work/man" 2>"$work/man.err" \
    || { cat "$work/man.err" >&2; fail "man fastbackup"; }
  [ ! -s "$work/man.err" ] || { cat "$work/man.err" >&2; fail "man fastbackup printed warnings"; }
  grep -q 'setup:rollback' "$work/man" || fail "the manual page does not describe setup:rollback"
  say "man fastbackup: $(wc -l < "$work/man") lines, no warning"
  local words
  # The installed file loads in a plain bash and answers as bash asks it (COMP_LINE and
  # COMP_POINT; COMP_WORDS broken at ':'), for a command and after a command's colon.
  words=$(in_root bash -c '. /usr/share/bash-completion/completions/fastbackup
    COMP_LINE="fastbackup he"; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(fastbackup he); COMP_CWORD=1
    _fastbackup; echo "${COMPREPLY[*]}"')
  [ "$words" = "help:man help:completion" ] || fail "the completion of 'fastbackup he' gave '$words'"
  words=$(in_root bash -c '. /usr/share/bash-completion/completions/fastbackup
    COMP_LINE="fastbackup setup:ro"; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(fastbackup setup : ro); COMP_CWORD=3
    _fastbackup; echo "${COMPREPLY[*]}"')
  [ "$words" = "rollback" ] || fail "the completion of 'fastbackup setup:ro' gave '$words'"
  say "completion of 'fastbackup he' and 'fastbackup setup:ro': as bash wants them"

  begin "libcurl for s3:// targets: loaded when there, named when not"
  local out
  s3_list() { in_root env AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
    fastbackup info:backups:list --target s3://install-test/backups --endpoint http://127.0.0.1:1 2>&1 || true; }
  out=$(s3_list); echo "$out" | indent
  grep -q "cannot reach the object store" <<<"$out" || fail "with libcurl4 installed, an unreachable endpoint should say so"
  in_root apt-get remove -y -q libcurl4 >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; fail "apt-get remove libcurl4"; }
  out=$(s3_list); echo "$out" | indent
  grep -q "apt-get install libcurl4" <<<"$out" || fail "without libcurl4 the message should name it"
  in_root apt-get install -y -q libcurl4 >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; fail "apt-get install libcurl4"; }
}

# The database part, when the caller runs a server: its socket appears in the root at
# $SOCKET_IN_ROOT, and the tables are made and checked from the host's client.
setup_database() {
  if [ -z "${FASTBACKUP_TEST_MYSQL_SOCKET:-}" ]; then
    say "no MariaDB server given (FASTBACKUP_TEST_MYSQL_SOCKET unset): skipping the database backup and rollback"
    return
  fi
  [ -S "$FASTBACKUP_TEST_MYSQL_SOCKET" ] || fail "FASTBACKUP_TEST_MYSQL_SOCKET=$FASTBACKUP_TEST_MYSQL_SOCKET is not a socket"
  command -v mariadb >/dev/null || fail "the database part needs the mariadb client on the host"
  mkdir -p "$root$(dirname "$SOCKET_IN_ROOT")"
  touch "$root$SOCKET_IN_ROOT"
  mount --bind "$FASTBACKUP_TEST_MYSQL_SOCKET" "$root$SOCKET_IN_ROOT"; mounts+=("$root$SOCKET_IN_ROOT")
  db_name="fastbackup_install_$$"
  mysql_host -e "CREATE DATABASE \`$db_name\` CHARACTER SET utf8mb4"
  mysql_host "$db_name" -e "
    CREATE TABLE catalog_product_entity (entity_id INT PRIMARY KEY AUTO_INCREMENT, sku VARCHAR(64) UNIQUE, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
    CREATE TABLE catalog_product_entity_varchar (value_id INT PRIMARY KEY AUTO_INCREMENT, entity_id INT, value VARCHAR(255), KEY (entity_id));
    INSERT INTO catalog_product_entity (sku) SELECT CONCAT('SKU-', seq) FROM seq_1_to_2000;
    INSERT INTO catalog_product_entity_varchar (entity_id, value) SELECT seq, CONCAT('Product ', seq, ' ☕ \"quoted\"') FROM seq_1_to_2000;"
  say "database $db_name on $FASTBACKUP_TEST_MYSQL_SOCKET, bound into the root at $SOCKET_IN_ROOT"
}

db_checksum() {
  local t
  for t in $(mysql_host -N "$db_name" -e "SELECT table_name FROM information_schema.tables WHERE table_schema='$db_name' AND table_type='BASE TABLE' ORDER BY 1"); do
    mysql_host -N "$db_name" -e "CHECKSUM TABLE \`$t\`"
  done | md5sum
}

make_store() {
  begin "a Magento-shaped store in the root ($STORE)"
  local host=localhost user=root password=""
  if [ -n "$db_name" ]; then host=$SOCKET_IN_ROOT user=$FASTBACKUP_TEST_MYSQL_USER password=$FASTBACKUP_TEST_MYSQL_PASSWORD; fi
  in_root bash -s "$STORE" "$host" "${db_name:-magento}" "$user" "$password" <<'EOF'
set -euo pipefail
s=$1
mkdir -p "$s"/{app/etc,app/code/Demo/Shop/Model,bin,generated/code,pub/static/frontend,var/log,vendor/magento/framework}
cat > "$s/app/etc/env.php" <<PHP
<?php
return [
    'db' => ['table_prefix' => '', 'connection' => ['default' => [
        'host' => '$2', 'dbname' => '$3', 'username' => '$4', 'password' => '$5', 'active' => '1',
    ]]],
    'MAGE_MODE' => 'production',
];
PHP
printf '#!/usr/bin/env php\n<?php\n' > "$s/bin/magento"; chmod 0755 "$s/bin/magento"
for i in $(seq 1 150); do
  d="$s/vendor/magento/framework/Module$((i % 10))"; mkdir -p "$d"
  printf '<?php\nnamespace Magento\\Framework;\nclass Class%d { public function id(): int { return %d; } }\n' "$i" "$i" > "$d/Class$i.php"
done
echo '<?php // registration' > "$s/app/code/Demo/Shop/registration.php"
echo '<?php // model' > "$s/app/code/Demo/Shop/Model/Product.php"
echo 'café, naïve: a UTF-8 name' > "$s/app/code/Demo/Shop/Model/Ünïcode name.txt"
ln -s registration.php "$s/app/code/Demo/Shop/link.php"
: > "$s/app/code/Demo/Shop/empty.txt"
for i in $(seq 1 60); do
  d="$s/pub/media/catalog/product/$((i % 4))/$((i % 7))"; mkdir -p "$d"
  head -c $((2000 + i * 997)) /dev/urandom > "$d/img$i.jpg"
done
mkdir -p "$s/pub/media/wysiwyg"; echo '<p>banner</p>' > "$s/pub/media/wysiwyg/banner.html"
echo 'cached' > "$s/pub/static/frontend/cached.css"
EOF
  say "$(in_root find "$STORE" -type f | wc -l) files"
}

# Every path outside var/ (where the backups go) with its type, mode, size, whole-second
# mtime (tar keeps seconds) and link target, then every file's content.
tree_sum() {
  in_root bash -c 'cd "$1" && { find . -mindepth 1 -path ./var -prune -o -printf "%P %y %m %s %TY%Tm%Td%TH%TM%TS %l\n" \
    | sed -E "s/\.[0-9]+ / /" | LC_ALL=C sort; find . -path ./var -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; }' _ "$STORE"
}

round_trip() {
  local parts=(--code --media) before_tree before_db="" out code media dump="" rollback
  [ -n "$db_name" ] && parts+=(--db)
  before_tree=$(tree_sum)
  [ -n "$db_name" ] && before_db=$(db_checksum)

  begin "fastbackup setup:backup ${parts[*]} --root $STORE"
  in_root fastbackup setup:backup "${parts[@]}" --root "$STORE" | indent
  begin "fastbackup info:backups:list --root $STORE"
  out=$(in_root fastbackup info:backups:list --root "$STORE"); echo "$out" | indent
  code=$(grep -o '[0-9]*_filesystem_code\.tgz' <<<"$out" | head -1) || fail "the list has no code backup"
  media=$(grep -o '[0-9]*_filesystem_media\.tgz' <<<"$out" | head -1) || fail "the list has no media backup"
  rollback=(-c "$code" -m "$media")
  if [ -n "$db_name" ]; then
    dump=$(grep -o '[0-9]*_db\.sql' <<<"$out" | head -1) || fail "the list has no database backup"
    rollback+=(-d "$dump")
  fi

  begin "damaging the store: code edited, media deleted and added, a mode changed"
  in_root bash -c 's=$1
    echo "<?php // broken deploy" > "$s/app/code/Demo/Shop/registration.php"
    rm -rf "$s/pub/media/catalog/product/1" "$s/app/code/Demo/Shop/Model"
    echo stray > "$s/pub/media/stray.jpg"; chmod 0600 "$s/bin/magento"' _ "$STORE"
  if [ -n "$db_name" ]; then
    mysql_host "$db_name" -e "DROP TABLE catalog_product_entity_varchar; UPDATE catalog_product_entity SET sku = CONCAT(sku, '-x') WHERE entity_id < 100"
  fi
  [ "$(tree_sum)" != "$before_tree" ] || fail "the damage changed nothing the comparison sees"

  begin "fastbackup setup:rollback ${rollback[*]} -n --root $STORE"
  in_root fastbackup setup:rollback "${rollback[@]}" -n --root "$STORE" | indent
  local after_tree
  after_tree=$(tree_sum)
  if [ "$after_tree" != "$before_tree" ]; then
    diff <(echo "$before_tree") <(echo "$after_tree") | head -20 >&2
    fail "the restored tree differs from the original"
  fi
  say "the tree is back: $(grep -c . <<<"$before_tree") lines of listing and content sums match"
  if [ -n "$db_name" ]; then
    [ "$(db_checksum)" = "$before_db" ] || fail "the restored database differs from the original"
    say "the database is back: every table's CHECKSUM matches"
  fi
}

check_dirty_refusal
cached_root
enter_root
check_bare_binary
install_package
check_commands
setup_database
make_store
round_trip
step="done"
say "passed in $((SECONDS - started)) s ($(basename "$deb"))"
