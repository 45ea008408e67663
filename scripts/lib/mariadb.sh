# A private MariaDB server for tests, the demo and benchmarks: its own data
# folder and socket under a temporary folder, no TCP unless asked, never the
# system service. Sourced; call fastbackup_mariadb_start, and the server is
# stopped and its folder removed by fastbackup_mariadb_stop (set as an EXIT trap).
#
# Exports:
#   FASTBACKUP_TEST_MYSQL_SOCKET  the socket path
#   FASTBACKUP_TEST_MYSQL_PORT    a loopback TCP port (127.0.0.1)
#   FASTBACKUP_TEST_MYSQL_USER / FASTBACKUP_TEST_MYSQL_PASSWORD
#                                 an account with every privilege

fastbackup_mariadb_start() {
  local mariadbd install_db
  mariadbd=$(command -v mariadbd || echo /usr/sbin/mariadbd)
  install_db=$(command -v mariadb-install-db || echo /usr/bin/mariadb-install-db)
  [ -x "$mariadbd" ] || { echo "mariadbd not found (apt-get install mariadb-server)" >&2; return 1; }
  FASTBACKUP_MARIADB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/fastbackup-mariadb.XXXXXX")
  local dir=$FASTBACKUP_MARIADB_DIR user_opt=()
  [ "$(id -u)" -eq 0 ] && user_opt=(--user=root)
  "$install_db" --no-defaults --datadir="$dir/data" "${user_opt[@]}" \
    --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 \
    || { cat "$dir/install.log" >&2; return 1; }
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$mariadbd" --no-defaults --datadir="$dir/data" "${user_opt[@]}" \
    --socket="$dir/mysqld.sock" --bind-address=127.0.0.1 --port="$port" \
    --pid-file="$dir/mysqld.pid" --log-error="$dir/error.log" \
    --innodb-buffer-pool-size=512M --innodb-log-file-size=256M \
    --innodb-flush-log-at-trx-commit=2 --max-allowed-packet=64M \
    --skip-log-bin --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    >/dev/null 2>&1 &
  FASTBACKUP_MARIADB_PID=$!
  local i
  for i in $(seq 1 300); do
    if mariadb-admin --no-defaults --socket="$dir/mysqld.sock" -uroot ping >/dev/null 2>&1; then break; fi
    if ! kill -0 "$FASTBACKUP_MARIADB_PID" 2>/dev/null; then
      echo "mariadbd exited during start-up:" >&2; tail -20 "$dir/error.log" >&2; return 1
    fi
    sleep 0.1
  done
  mariadb --no-defaults --socket="$dir/mysqld.sock" -uroot -e "
    CREATE USER IF NOT EXISTS 'fbtest'@'localhost' IDENTIFIED BY 'fbtest-pw';
    CREATE USER IF NOT EXISTS 'fbtest'@'127.0.0.1' IDENTIFIED BY 'fbtest-pw';
    GRANT ALL PRIVILEGES ON *.* TO 'fbtest'@'localhost' WITH GRANT OPTION;
    GRANT ALL PRIVILEGES ON *.* TO 'fbtest'@'127.0.0.1' WITH GRANT OPTION;" \
    || { tail -20 "$dir/error.log" >&2; return 1; }
  export FASTBACKUP_TEST_MYSQL_SOCKET="$dir/mysqld.sock"
  export FASTBACKUP_TEST_MYSQL_PORT="$port"
  export FASTBACKUP_TEST_MYSQL_USER=fbtest
  export FASTBACKUP_TEST_MYSQL_PASSWORD=fbtest-pw
  export FASTBACKUP_MARIADB_DIR FASTBACKUP_MARIADB_PID
}

fastbackup_mariadb_stop() {
  [ -n "${FASTBACKUP_MARIADB_PID:-}" ] || return 0
  kill "$FASTBACKUP_MARIADB_PID" 2>/dev/null
  local i
  for i in $(seq 1 100); do kill -0 "$FASTBACKUP_MARIADB_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$FASTBACKUP_MARIADB_PID" 2>/dev/null || true  # already gone: not an error under set -e
  [ -n "${FASTBACKUP_MARIADB_DIR:-}" ] && rm -rf "$FASTBACKUP_MARIADB_DIR"
  FASTBACKUP_MARIADB_PID=""
}
