import CSystemShims

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum ResourceLimits {
    /// Every open SFTP handle is a descriptor: allow as many as the hard limit permits.
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// scrypt works in 16 MiB buffers. glibc raises its mmap threshold after the first such buffer
    /// is freed and from then on serves them from the heap, which it keeps: a server that checked
    /// a few passwords at once held ~64 MiB for good. A fixed threshold keeps large buffers mmapped
    /// and returned on free.
    static func returnLargeAllocationsToTheSystem() {
        _ = wharf_set_mmap_threshold(1 << 20)
    }
}
