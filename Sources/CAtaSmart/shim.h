#ifndef HIVE_HEALTH_CATASMART_SHIM_H
#define HIVE_HEALTH_CATASMART_SHIM_H

/* atasmart.h uses size_t without including the header that defines it. */
#include <stddef.h>
#include <stdint.h>
#include <atasmart.h>

#endif
