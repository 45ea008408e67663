#ifndef FASTBACKUP_CMARIADB_SHIM_H
#define FASTBACKUP_CMARIADB_SHIM_H
#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>

/* my_bool is char in Connector/C 3.x and bool in MySQL 8; keep the
   difference here so Swift code always passes a CChar-sized flag. */
typedef my_bool cmariadb_bool;
#endif
