#ifndef FASTBACKUP_CZSTD_SHIM_H
#define FASTBACKUP_CZSTD_SHIM_H
#include <zstd.h>
#include <zstd_errors.h>
#endif
