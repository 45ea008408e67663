#!/usr/bin/env bash
# Creates (drops first) a Magento-shaped benchmark database on a MariaDB server:
#   catalog_product_entity_varchar  EAV values (value_id, attribute_id, store_id, entity_id, value varchar(255), 10% NULL)
#   sales_order                     wide rows: decimals, timestamps, text, NULLs, a small varbinary and a blob
#   sales_order_item                narrow child rows
# with N rows in total (3/4 EAV, 1/8 orders, 1/8 items). Rows come from the SEQUENCE
# engine (INSERT ... SELECT ... FROM seq_A_to_B), in batches of 1M to keep transactions small.
#
# Usage: Benchmarks/db/generate.sh --socket PATH --user U --password P --database NAME --rows N
set -euo pipefail

socket="" user="" password="" database="" rows=""
while [ $# -gt 0 ]; do
  case "$1" in
    --socket) socket=$2; shift 2 ;;
    --user) user=$2; shift 2 ;;
    --password) password=$2; shift 2 ;;
    --database) database=$2; shift 2 ;;
    --rows) rows=$2; shift 2 ;;
    *) echo "generate.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$socket" ] && [ -n "$user" ] && [ -n "$database" ] && [ -n "$rows" ] || {
  echo "usage: $0 --socket PATH --user U --password P --database NAME --rows N" >&2; exit 2; }
case "$rows" in ''|*[!0-9]*) echo "generate.sh: --rows must be a number" >&2; exit 2 ;; esac
case "$database" in *[!A-Za-z0-9_]*) echo "generate.sh: database name must be [A-Za-z0-9_]" >&2; exit 2 ;; esac

sql() { MYSQL_PWD="$password" mariadb --no-defaults --socket="$socket" --user="$user" "$@"; }

eav=$(( rows * 3 / 4 ))
orders=$(( rows / 8 ))
items=$(( rows - eav - orders ))
batch=1000000

sql -e "DROP DATABASE IF EXISTS \`$database\`; CREATE DATABASE \`$database\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;"
sql "$database" <<'SQL'
CREATE TABLE catalog_product_entity_varchar (
  value_id int(11) NOT NULL AUTO_INCREMENT COMMENT 'Value ID',
  attribute_id smallint(5) unsigned NOT NULL DEFAULT 0 COMMENT 'Attribute ID',
  store_id smallint(5) unsigned NOT NULL DEFAULT 0 COMMENT 'Store ID',
  entity_id int(10) unsigned NOT NULL DEFAULT 0 COMMENT 'Entity ID',
  value varchar(255) DEFAULT NULL COMMENT 'Value',
  PRIMARY KEY (value_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COMMENT='Catalog Product Varchar Attribute Backend Table';

CREATE TABLE sales_order (
  entity_id int(10) unsigned NOT NULL AUTO_INCREMENT,
  state varchar(32) DEFAULT NULL,
  status varchar(32) DEFAULT NULL,
  coupon_code varchar(255) DEFAULT NULL,
  protect_code varbinary(32) DEFAULT NULL,
  shipping_description varchar(255) DEFAULT NULL,
  is_virtual smallint(5) unsigned DEFAULT NULL,
  store_id smallint(5) unsigned DEFAULT NULL,
  customer_id int(10) unsigned DEFAULT NULL,
  base_discount_amount decimal(20,4) DEFAULT NULL,
  base_grand_total decimal(20,4) DEFAULT NULL,
  base_shipping_amount decimal(20,4) DEFAULT NULL,
  base_subtotal decimal(20,4) DEFAULT NULL,
  base_tax_amount decimal(20,4) DEFAULT NULL,
  grand_total decimal(20,4) DEFAULT NULL,
  subtotal decimal(20,4) DEFAULT NULL,
  tax_amount decimal(20,4) DEFAULT NULL,
  total_qty_ordered decimal(12,4) DEFAULT NULL,
  weight decimal(12,4) DEFAULT NULL,
  increment_id varchar(32) DEFAULT NULL,
  customer_email varchar(128) DEFAULT NULL,
  customer_firstname varchar(128) DEFAULT NULL,
  customer_lastname varchar(128) DEFAULT NULL,
  customer_note text DEFAULT NULL,
  remote_ip varchar(45) DEFAULT NULL,
  shipping_method varchar(120) DEFAULT NULL,
  order_currency_code varchar(3) DEFAULT NULL,
  gift_message blob DEFAULT NULL,
  created_at timestamp NOT NULL DEFAULT current_timestamp(),
  updated_at timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  PRIMARY KEY (entity_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COMMENT='Sales Flat Order';

CREATE TABLE sales_order_item (
  item_id int(10) unsigned NOT NULL AUTO_INCREMENT,
  order_id int(10) unsigned NOT NULL DEFAULT 0,
  sku varchar(255) DEFAULT NULL,
  name varchar(255) DEFAULT NULL,
  qty_ordered decimal(12,4) DEFAULT 0.0000,
  price decimal(20,4) NOT NULL DEFAULT 0.0000,
  row_total decimal(20,4) NOT NULL DEFAULT 0.0000,
  product_options longtext DEFAULT NULL,
  created_at timestamp NOT NULL DEFAULT current_timestamp(),
  PRIMARY KEY (item_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COMMENT='Sales Flat Order Item';
SQL

# fill TABLE TOTAL SELECT-LIST: inserts TOTAL rows in batches, `seq` numbering rows from 1.
fill() {
  local table=$1 total=$2 select=$3 from=1 to
  while [ "$from" -le "$total" ]; do
    to=$(( from + batch - 1 )); [ "$to" -gt "$total" ] && to=$total
    sql "$database" -e "SET SESSION unique_checks=0, foreign_key_checks=0, sql_log_bin=0;
      INSERT INTO $table $select FROM seq_${from}_to_${to};"
    from=$(( to + 1 ))
  done
}

# 12 attributes x 3 stores per product: (entity, attribute, store) is unique like in Magento.
# The three tables load in parallel (one server thread each).
fill catalog_product_entity_varchar "$eav" "(value_id, attribute_id, store_id, entity_id, value)
  SELECT seq, 60 + seq % 12, (seq DIV 12) % 3, seq DIV 36 + 1,
    CASE WHEN seq % 10 = 0 THEN NULL
         WHEN seq % 12 = 0 THEN CONCAT('product-url-key-', seq DIV 36)
         ELSE CONCAT('Product ', seq DIV 36, ' value ', seq % 12, ' ''quoted'' ', ELT(1 + seq % 4, 'Grüße', 'naïve', '日本語', 'plain')) END" &
pids=($!)

fill sales_order "$orders" "
  SELECT seq, ELT(1 + seq % 4, 'new', 'processing', 'complete', 'canceled'), ELT(1 + seq % 4, 'pending', 'processing', 'complete', 'canceled'),
    IF(seq % 7 = 0, CONCAT('SAVE', seq % 100), NULL), UNHEX(LPAD(HEX(seq * 2654435761 % 4294967296), 12, '0')),
    'Flat Rate - Fixed', seq % 9 = 0, 1 + seq % 3, IF(seq % 5 = 0, NULL, seq % 100000),
    -(seq % 13) * 1.25, 10 + (seq % 1000) * 1.37, 5.0000, (seq % 1000) * 1.37, (seq % 1000) * 0.19,
    10 + (seq % 1000) * 1.56, (seq % 1000) * 1.37, (seq % 1000) * 0.19, 1 + seq % 5, (seq % 300) / 7,
    LPAD(seq, 9, '0'), CONCAT('customer', seq % 100000, '@example.com'), 'Veronica', IF(seq % 3 = 0, 'O''Brien', 'Costello'),
    IF(seq % 4 = 0, CONCAT('Please leave at the door.\nCall ', seq, ' first\\\\thanks'), NULL),
    CONCAT('10.', seq % 256, '.', (seq DIV 256) % 256, '.1'), 'flatrate_flatrate', 'EUR',
    IF(seq % 6 = 0, UNHEX(REPEAT('00FF', 1 + seq % 8)), NULL),
    FROM_UNIXTIME(1600000000 + seq * 37), FROM_UNIXTIME(1600000000 + seq * 41)" &
pids+=($!)

fill sales_order_item "$items" "
  SELECT seq, 1 + seq % GREATEST($orders, 1), CONCAT('SKU-', seq % 5000), CONCAT('Product ', seq % 5000),
    1 + seq % 3, 9.99 + seq % 100, (9.99 + seq % 100) * (1 + seq % 3),
    IF(seq % 2 = 0, CONCAT('{\"info_buyRequest\":{\"qty\":', 1 + seq % 3, ',\"options\":[]}}'), NULL),
    FROM_UNIXTIME(1600000000 + seq * 29)" &
pids+=($!)
for p in "${pids[@]}"; do wait "$p"; done

# Secondary indexes are built once after the load (a sorted build), which is much faster
# than maintaining them row by row.
sql "$database" -e "
  ALTER TABLE catalog_product_entity_varchar ADD UNIQUE KEY CATALOG_PRODUCT_ENTITY_VARCHAR_ENTITY_ID_ATTRIBUTE_ID_STORE_ID (entity_id, attribute_id, store_id), ADD KEY CATALOG_PRODUCT_ENTITY_VARCHAR_ATTRIBUTE_ID (attribute_id), ADD KEY CATALOG_PRODUCT_ENTITY_VARCHAR_STORE_ID (store_id);
  ALTER TABLE sales_order ADD UNIQUE KEY SALES_ORDER_INCREMENT_ID_STORE_ID (increment_id, store_id), ADD KEY SALES_ORDER_STATUS (status), ADD KEY SALES_ORDER_CREATED_AT (created_at), ADD KEY SALES_ORDER_CUSTOMER_ID (customer_id);
  ALTER TABLE sales_order_item ADD KEY SALES_ORDER_ITEM_ORDER_ID (order_id);"
sql "$database" -e "ANALYZE TABLE catalog_product_entity_varchar, sales_order, sales_order_item" >/dev/null
