#ifndef WHARF_C_SYSTEM_SHIMS_H
#define WHARF_C_SYSTEM_SHIMS_H

/// C calls Swift's Glibc module does not expose (malloc.h is not part of it).

#if defined(__linux__)
#include <features.h>  // defines __GLIBC__, tested next: without it, the test was always false
#endif

#if defined(__GLIBC__)
#include <malloc.h>

/// Fixes glibc's mmap threshold (and so turns off its dynamic raising): allocations of at least
/// `bytes` are mmapped and returned to the system when freed. Returns 1 on success.
static inline int wharf_set_mmap_threshold(int bytes) {
    return mallopt(M_MMAP_THRESHOLD, bytes);
}

/// Sets how much free memory glibc leaves at the top of an arena before it returns it to the
/// system. Returns 1 on success.
static inline int wharf_set_trim_threshold(int bytes) {
    return mallopt(M_TRIM_THRESHOLD, bytes);
}
#else
static inline int wharf_set_mmap_threshold(int bytes) {
    (void)bytes;
    return 0;
}

static inline int wharf_set_trim_threshold(int bytes) {
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

/// Non-blocking attempts at file system calls (defined in shims.c, which needs _GNU_SOURCE): each
/// either completes without waiting for a device or fails at once, and the caller then makes the
/// ordinary call on a thread pool.
#include <stddef.h>
#include <sys/types.h>

/// openat2(2) with RESOLVE_CACHED | RESOLVE_BENEATH | RESOLVE_NO_XDEV and O_NONBLOCK: opens the
/// relative `path` below `directory` only when every component is in the kernel's lookup cache,
/// and stays below `directory` and on its mount. Returns the descriptor, or -1 with errno (EAGAIN:
/// not cached; EXDEV: leaves the directory or its mount; ENOSYS or EINVAL: kernel before 5.12).
/// O_NONBLOCK keeps the open of a FIFO from waiting for a writer; on a regular file it does nothing.
int wharf_open_cached_beneath(int directory, const char *path, int flags);

struct stat;

/// The status of `path` (relative) below `directory`, resolved as `wharf_open_cached_beneath` does
/// (a final symlink followed when `follow` is non-zero, else the link itself), through an O_PATH
/// descriptor that opens nothing. Returns 0, or -1 with errno (EAGAIN: not cached; EXDEV: leaves).
int wharf_status_cached_beneath(int directory, const char *path, int follow, struct stat *status);

/// open(2) of a directory with O_PATH (which Swift's Glibc module lacks): a handle to resolve names
/// below, which reads nothing. Returns the descriptor (close-on-exec), or -1 with errno.
int wharf_open_directory_handle(const char *path);

/// The directory named by the absolute `path`, when every component is in the kernel's lookup
/// cache (openat2 with RESOLVE_CACHED): its device and inode as the kernel holds them (statx with
/// AT_STATX_DONT_SYNC) and its canonical path, what realpath(3) would give (`path` itself when it
/// is spelt canonically and no symlink is on the way, else read back from /proc/self/fd), into
/// `canonical` of `capacity` bytes. Returns 0, or -1 with errno (EAGAIN: not
/// cached; ENOTDIR; ENAMETOOLONG; ENOENT without /proc).
int wharf_directory_cached(
    const char *path, unsigned long long *device, unsigned long long *inode, char *canonical, size_t capacity);

/// preadv2(2) with RWF_NOWAIT: reads only what is in the page cache. Returns the byte count, or -1
/// with errno (EAGAIN: would wait for the device; EOPNOTSUPP: the file system cannot tell).
ssize_t wharf_pread_nowait(int descriptor, void *buffer, size_t length, off_t offset);

/// cachestat(2) (Linux 6.5): how many of the pages of `length` bytes from `offset` are in the page
/// cache, without mapping the file. Returns the count, or -1 with errno (ENOSYS: older kernel;
/// EPERM: since 6.14 the caller must own the file, may write it, or have CAP_SYS_ADMIN).
long long wharf_cached_pages(int descriptor, unsigned long long offset, unsigned long long length);

/// The file system type (statfs's f_type, e.g. 0xEF53 for ext2/3/4) of an open descriptor, or -1.
long wharf_file_system_type(int descriptor);

/// 1 when no swap space is configured (sysinfo's totalswap is 0): no page of a tmpfs file can then
/// be on a device. 0 otherwise, or when it cannot be told.
int wharf_swap_is_off(void);

#endif
