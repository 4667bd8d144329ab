// Most shims are static inline functions in the header; the ones here need _GNU_SOURCE, which must
// come before the first system header.
#define _GNU_SOURCE
#include "CSystemShims.h"

#include <errno.h>

#if defined(__linux__)
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

/// struct open_how and the RESOLVE_* flags of <linux/openat2.h>, which not every system has.
struct wharf_open_how {
    uint64_t flags;
    uint64_t mode;
    uint64_t resolve;
};
enum {
    wharf_resolve_no_xdev = 0x01,
    wharf_resolve_no_symlinks = 0x04,
    wharf_resolve_beneath = 0x08,
    wharf_resolve_cached = 0x20,
};

int wharf_open_cached_beneath(int directory, const char *path, int flags) {
    struct wharf_open_how how = {
        .flags = (uint64_t)(unsigned)(flags | O_NONBLOCK),
        .mode = 0,
        .resolve = wharf_resolve_cached | wharf_resolve_beneath | wharf_resolve_no_xdev,
    };
    return (int)syscall(SYS_openat2, directory, path, &how, sizeof how);
}

int wharf_status_cached_beneath(int directory, const char *path, int follow, struct stat *status) {
    struct wharf_open_how how = {
        .flags = (uint64_t)(unsigned)(O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW)),
        .mode = 0,
        .resolve = wharf_resolve_cached | wharf_resolve_beneath | wharf_resolve_no_xdev,
    };
    int descriptor = (int)syscall(SYS_openat2, directory, path, &how, sizeof how);
    if (descriptor < 0) return -1;
    int result = fstat(descriptor, status);
    int failure = errno;
    close(descriptor);
    errno = failure;
    return result;
}

int wharf_open_directory_handle(const char *path) {
    return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/// Whether `path` is absolute and spelt the way realpath(3) spells it, symlinks aside: no empty,
/// "." or ".." component and no trailing slash.
static int wharf_is_lexically_canonical(const char *path) {
    if (path[0] != '/') return 0;
    if (path[1] == 0) return 1;
    const char *component = path + 1;
    for (const char *p = path + 1;; p++) {
        if (*p == '/' || *p == 0) {
            size_t length = (size_t)(p - component);
            if (length == 0) return 0;
            if (component[0] == '.' && (length == 1 || (length == 2 && component[1] == '.'))) return 0;
            if (*p == 0) return 1;
            component = p + 1;
        }
    }
}

int wharf_directory_cached(
    const char *path, unsigned long long *device, unsigned long long *inode, char *canonical, size_t capacity
) {
    size_t length = strlen(path);
    // A path spelt canonically that resolves without following a symlink is its own real path:
    // no need to read it back (a readlink of /proc/self/fd costs more than the open).
    int spelt = wharf_is_lexically_canonical(path) && length < capacity;
    struct wharf_open_how how = {
        .flags = (uint64_t)(unsigned)(O_PATH | O_DIRECTORY | O_CLOEXEC),
        .mode = 0,
        .resolve = wharf_resolve_cached | (spelt ? wharf_resolve_no_symlinks : 0),
    };
    int descriptor = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
    if (descriptor < 0 && spelt && errno == ELOOP) {
        spelt = 0;
        how.resolve = wharf_resolve_cached;
        descriptor = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
    }
    if (descriptor < 0) return -1;
    int result = -1;
    struct statx status;
    // AT_STATX_DONT_SYNC: the attributes the kernel holds, never a round trip to a server.
    if (statx(descriptor, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE | STATX_INO, &status) == 0) {
        ssize_t written;
        if (spelt) {
            memcpy(canonical, path, length + 1);
            written = (ssize_t)length;
        } else {
            char link[32];
            snprintf(link, sizeof link, "/proc/self/fd/%d", descriptor);
            written = capacity > 0 ? readlink(link, canonical, capacity - 1) : -1;
            if (written > 0 && (size_t)written < capacity - 1 && canonical[0] == '/') {
                canonical[written] = 0;
            } else if (written >= 0) {
                errno = ENAMETOOLONG;
                written = -1;
            }
        }
        if (written > 0) {
            *device = (unsigned long long)makedev(status.stx_dev_major, status.stx_dev_minor);
            *inode = (unsigned long long)status.stx_ino;
            result = 0;
        }
    }
    int failure = errno;
    close(descriptor);
    errno = failure;
    return result;
}

ssize_t wharf_pread_nowait(int descriptor, void *buffer, size_t length, off_t offset) {
#ifdef RWF_NOWAIT
    struct iovec vector = {.iov_base = buffer, .iov_len = length};
    return preadv2(descriptor, &vector, 1, offset, RWF_NOWAIT);
#else
    (void)descriptor;
    (void)buffer;
    (void)length;
    (void)offset;
    errno = EOPNOTSUPP;
    return -1;
#endif
}

#ifndef SYS_cachestat
#define SYS_cachestat 451
#endif

/// struct cachestat_range and struct cachestat of <linux/mman.h> (6.5), which older headers lack.
struct wharf_cachestat_range {
    uint64_t offset;
    uint64_t length;
};
struct wharf_cachestat {
    uint64_t cached, dirty, writeback, evicted, recently_evicted;
};

long long wharf_cached_pages(int descriptor, unsigned long long offset, unsigned long long length) {
    struct wharf_cachestat_range range = {.offset = offset, .length = length};
    struct wharf_cachestat status;
    if (syscall(SYS_cachestat, descriptor, &range, &status, 0) != 0) return -1;
    return (long long)status.cached;
}

long wharf_file_system_type(int descriptor) {
    struct statfs info;
    if (fstatfs(descriptor, &info) != 0) return -1;
    return (long)info.f_type;
}

int wharf_swap_is_off(void) {
    struct sysinfo info;
    if (sysinfo(&info) != 0) return 0;
    return info.totalswap == 0;
}

#else

// Elsewhere every attempt is refused, and the callers make the ordinary calls.
int wharf_open_cached_beneath(int directory, const char *path, int flags) { (void)directory; (void)path; (void)flags; errno = ENOSYS; return -1; }
int wharf_status_cached_beneath(int directory, const char *path, int follow, struct stat *status) { (void)directory; (void)path; (void)follow; (void)status; errno = ENOSYS; return -1; }
int wharf_open_directory_handle(const char *path) { (void)path; errno = ENOSYS; return -1; }
int wharf_directory_cached(const char *path, unsigned long long *device, unsigned long long *inode, char *canonical, size_t capacity) { (void)path; (void)device; (void)inode; (void)canonical; (void)capacity; errno = ENOSYS; return -1; }
ssize_t wharf_pread_nowait(int descriptor, void *buffer, size_t length, off_t offset) { (void)descriptor; (void)buffer; (void)length; (void)offset; errno = EOPNOTSUPP; return -1; }
long long wharf_cached_pages(int descriptor, unsigned long long offset, unsigned long long length) { (void)descriptor; (void)offset; (void)length; errno = ENOSYS; return -1; }
long wharf_file_system_type(int descriptor) { (void)descriptor; return -1; }
int wharf_swap_is_off(void) { return 0; }

#endif
