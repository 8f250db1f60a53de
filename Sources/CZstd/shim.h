#include <zstd.h>
#include <zstd_errors.h>
// The COVER trainer's declarations (exported by libzstd.so, declared for static linking).
#define ZDICT_STATIC_LINKING_ONLY
#include <zdict.h>
