#!/usr/bin/env bash
# The main job, end to end, on a demo store this script creates: installs what is missing,
# builds the release binary, makes a Magento-shaped root (code, a media tree of real product
# images when ../shared/corpus is there, generated ones otherwise, and a database in a private
# MariaDB server), then backs it up, lists the backups, damages the store and rolls it back.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
. scripts/lib/deps.sh
. scripts/lib/mariadb.sh
fastbackup_install_deps

echo "== building the release binary"
swift build -c release 2>&1 | tail -1
bin="$(swift build -c release --show-bin-path)/fastbackup"

work=$(mktemp -d "${TMPDIR:-/tmp}/fastbackup-demo.XXXXXX")
cleanup() { local rc=$?; fastbackup_mariadb_stop; rm -rf "$work"; exit $rc; }
trap cleanup EXIT
fastbackup_mariadb_start
store="$work/store"

echo "== making a demo store in $store"
mysql=(mariadb --no-defaults --socket="$FASTBACKUP_TEST_MYSQL_SOCKET" -u"$FASTBACKUP_TEST_MYSQL_USER" -p"$FASTBACKUP_TEST_MYSQL_PASSWORD")
sakila="$repo/../shared/corpus/sakila"
if [ -f "$sakila/sakila-schema.sql" ]; then
  db=sakila
  echo "   database: the sakila sample (tables, views, triggers, routines, a BLOB column)"
  "${mysql[@]}" < "$sakila/sakila-schema.sql"
  "${mysql[@]}" < "$sakila/sakila-data.sql"
else
  db=magento_demo
  echo "   database: a generated catalog (../shared/corpus/sakila is not here)"
  "${mysql[@]}" -e "CREATE DATABASE magento_demo"
  "${mysql[@]}" magento_demo -e "
    CREATE TABLE catalog_product_entity (entity_id INT PRIMARY KEY AUTO_INCREMENT, sku VARCHAR(64), created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
    CREATE TABLE catalog_product_entity_varchar (value_id INT PRIMARY KEY AUTO_INCREMENT, entity_id INT, value VARCHAR(255));
    INSERT INTO catalog_product_entity (sku) SELECT CONCAT('SKU-', seq) FROM seq_1_to_20000;
    INSERT INTO catalog_product_entity_varchar (entity_id, value) SELECT seq, CONCAT('Product name ', seq, ' ☕') FROM seq_1_to_20000;"
fi
python3 scripts/lib/make_demo_store.py "$store" --corpus "$repo/../shared/corpus" --dbname "$db"

checksum() { "${mysql[@]}" -N "$db" -e "SELECT GROUP_CONCAT(t SEPARATOR ',') FROM (SELECT table_name t FROM information_schema.tables WHERE table_schema='$db' AND table_type='BASE TABLE' ORDER BY 1) x" | tr ',' '\n' | while read -r t; do "${mysql[@]}" -N "$db" -e "CHECKSUM TABLE \`$t\`"; done | md5sum; }
# Whole-second mtimes: tar keeps seconds, as GNU tar and Magento's archives do.
tree_sum() { (cd "$store" && find . -mindepth 1 -path ./var -prune -o -printf '%P %y %m %s %TY%Tm%Td%TH%TM%TS %l\n' | sed -E 's/\.[0-9]+ / /' | LC_ALL=C sort); }
before_db=$(checksum)
before_tree=$(tree_sum)

echo "== fastbackup setup:backup --code --media --db"
time "$bin" setup:backup --code --media --db --root "$store"
echo "== fastbackup info:backups:list"
"$bin" info:backups:list --root "$store"

echo "== damaging the store: deleting images, editing code, dropping a table"
rm -rf "$store/pub/media/catalog/product/cache"
mapfile -t images < <(find "$store/pub/media/catalog/product" -name '*.jpg')
rm -f "${images[@]:0:100}"
echo "<?php // broken deploy" > "$store/app/code/Demo/Shop/registration.php"
first_table=$("${mysql[@]}" -N "$db" -e "SELECT table_name FROM information_schema.tables WHERE table_schema='$db' AND table_type='BASE TABLE' ORDER BY 1 LIMIT 1")
"${mysql[@]}" "$db" -e "SET FOREIGN_KEY_CHECKS=0; DROP TABLE \`$first_table\`"

code=$(ls "$store/var/backups/" | grep _filesystem_code); media=$(ls "$store/var/backups/" | grep _filesystem_media); dbfile=$(ls "$store/var/backups/" | grep _db.sql)
echo "== fastbackup setup:rollback -n -c $code -m $media -d $dbfile"
time "$bin" setup:rollback -n -c "$code" -m "$media" -d "$dbfile" --root "$store"

after_db=$(checksum)
after_tree=$(tree_sum)
[ "$before_tree" = "$after_tree" ] || { echo "FAILED: the restored tree differs from the original:" >&2; diff <(echo "$before_tree") <(echo "$after_tree") | head -20 >&2; exit 1; }
[ "$before_db" = "$after_db" ] || { echo "FAILED: the restored database differs from the original" >&2; exit 1; }
echo "== the store is back: the files and every table's CHECKSUM match the originals"
