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
cleanup() { fastbackup_mariadb_stop; rm -rf "$work"; }
trap cleanup EXIT
fastbackup_mariadb_start
store="$work/store"

echo "== making a demo store in $store"
python3 scripts/lib/make_demo_store.py "$store" --corpus "$repo/../shared/corpus"
mysql=(mariadb --no-defaults --socket="$FASTBACKUP_TEST_MYSQL_SOCKET" -u"$FASTBACKUP_TEST_MYSQL_USER" -p"$FASTBACKUP_TEST_MYSQL_PASSWORD")
"${mysql[@]}" -e "CREATE DATABASE magento_demo"
if [ -f "$repo/../shared/corpus/sakila/sakila-schema.sql" ]; then
  echo "   database: the sakila sample (tables, views, triggers, routines, a BLOB column)"
  sed 's/^DROP SCHEMA.*//; s/^CREATE SCHEMA.*//; s/^USE sakila;/USE magento_demo;/' "$repo/../shared/corpus/sakila/sakila-schema.sql" | "${mysql[@]}" magento_demo
  sed 's/^USE sakila;/USE magento_demo;/' "$repo/../shared/corpus/sakila/sakila-data.sql" | "${mysql[@]}" magento_demo
else
  echo "   database: a generated catalog (../shared/corpus/sakila is not here)"
  "${mysql[@]}" magento_demo -e "
    CREATE TABLE catalog_product_entity (entity_id INT PRIMARY KEY AUTO_INCREMENT, sku VARCHAR(64), created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
    CREATE TABLE catalog_product_entity_varchar (value_id INT PRIMARY KEY AUTO_INCREMENT, entity_id INT, value VARCHAR(255));
    INSERT INTO catalog_product_entity (sku) SELECT CONCAT('SKU-', seq) FROM seq_1_to_20000;
    INSERT INTO catalog_product_entity_varchar (entity_id, value) SELECT seq, CONCAT('Product name ', seq, ' ☕') FROM seq_1_to_20000;"
fi

checksum() { "${mysql[@]}" -N magento_demo -e "SELECT GROUP_CONCAT(t SEPARATOR ',') FROM (SELECT table_name t FROM information_schema.tables WHERE table_schema='magento_demo' AND table_type='BASE TABLE' ORDER BY 1) x" | tr ',' '\n' | while read -r t; do "${mysql[@]}" -N magento_demo -e "CHECKSUM TABLE \`$t\`"; done | md5sum; }
tree_sum() { (cd "$store" && find . -path ./var -prune -o -printf '%P %y %m %s %T@ %l\n' | LC_ALL=C sort | md5sum); }
before_db=$(checksum)
before_tree=$(tree_sum)

echo "== fastbackup setup:backup --code --media --db"
time "$bin" setup:backup --code --media --db --root "$store"
echo "== fastbackup info:backups:list"
"$bin" info:backups:list --root "$store"

echo "== damaging the store: deleting images, editing code, dropping a table"
rm -rf "$store/pub/media/catalog/product/cache"
find "$store/pub/media/catalog/product" -name '*.jpg' | head -100 | xargs rm -f
echo "<?php // broken deploy" > "$store/app/code/Demo/Shop/registration.php"
first_table=$("${mysql[@]}" -N magento_demo -e "SELECT table_name FROM information_schema.tables WHERE table_schema='magento_demo' AND table_type='BASE TABLE' ORDER BY 1 LIMIT 1")
"${mysql[@]}" magento_demo -e "SET FOREIGN_KEY_CHECKS=0; DROP TABLE \`$first_table\`"

code=$(ls "$store/var/backups/" | grep _filesystem_code); media=$(ls "$store/var/backups/" | grep _filesystem_media); db=$(ls "$store/var/backups/" | grep _db.sql)
echo "== fastbackup setup:rollback -n -c $code -m $media -d $db"
time "$bin" setup:rollback -n -c "$code" -m "$media" -d "$db" --root "$store"

after_db=$(checksum)
after_tree=$(tree_sum)
[ "$before_tree" = "$after_tree" ] || { echo "FAILED: the restored tree differs from the original" >&2; exit 1; }
[ "$before_db" = "$after_db" ] || { echo "FAILED: the restored database differs from the original" >&2; exit 1; }
echo "== the store is back: the files and every table's CHECKSUM match the originals"
