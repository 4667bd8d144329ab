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

#if defined(__linux__)
#include <fcntl.h>
#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031
#endif

/// Sets a pipe's capacity (Linux's F_SETPIPE_SZ); returns the new capacity, or -1 (not a pipe,
/// or over the user's pipe memory limit).
static inline int wharf_set_pipe_size(int fd, int bytes) {
    return fcntl(fd, F_SETPIPE_SZ, bytes);
}
#else
static inline int wharf_set_pipe_size(int fd, int bytes) {
    (void)fd;
    (void)bytes;
    return -1;
}
#endif

#endif
