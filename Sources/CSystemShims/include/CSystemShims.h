#ifndef WHARF_C_SYSTEM_SHIMS_H
#define WHARF_C_SYSTEM_SHIMS_H

/// C calls Swift's Glibc module does not expose (malloc.h is not part of it).

#if defined(__linux__) && defined(__GLIBC__)
#include <malloc.h>

/// Fixes glibc's mmap threshold (and so turns off its dynamic raising): allocations of at least
/// `bytes` are mmapped and returned to the system when freed. Returns 1 on success.
static inline int wharf_set_mmap_threshold(int bytes) {
    return mallopt(M_MMAP_THRESHOLD, bytes);
}
#else
static inline int wharf_set_mmap_threshold(int bytes) {
    (void)bytes;
    return 0;
}
#endif

#endif
