#ifndef FASTBACKUP_CISAL_SHIM_H
#define FASTBACKUP_CISAL_SHIM_H
#include <isa-l/igzip_lib.h>
#include <isa-l/crc.h>

/* The ISAL_DEF_LVL*_DEFAULT sizes are macro expressions Swift cannot import. */
static const unsigned int CISAL_LVL0_DEFAULT = ISAL_DEF_LVL0_DEFAULT;
static const unsigned int CISAL_LVL1_DEFAULT = ISAL_DEF_LVL1_DEFAULT;
static const unsigned int CISAL_LVL2_DEFAULT = ISAL_DEF_LVL2_DEFAULT;
static const unsigned int CISAL_LVL3_DEFAULT = ISAL_DEF_LVL3_DEFAULT;
#endif
