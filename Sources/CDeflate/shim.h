#ifndef FASTBACKUP_CDEFLATE_SHIM_H
#define FASTBACKUP_CDEFLATE_SHIM_H
#include <libdeflate.h>
#endif
