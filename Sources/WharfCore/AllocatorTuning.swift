import CSystemShims

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Tells glibc's allocator to keep freed transfer buffers instead of handing them back to the
/// kernel at once.
///
/// Transfers allocate and free buffers of 64 KiB to 1 MiB in quick succession (255 KiB READ
/// replies, SFTP packets, FTP batches), often freed on another thread than the one that allocated
/// them. With glibc's defaults the top of an arena is trimmed as soon as 256-512 KiB are free
/// there, and the next buffer is fresh memory again: ~40,000 page faults (160 MB zeroed by the
/// kernel) per GiB downloaded through `wharf sftp-server`, against ~3,000 with these settings.
/// Up to `trimThreshold` of free memory may then stay with each arena after a burst; allocations
/// of `mmapThreshold` and more still go straight back to the kernel: scrypt's 16 MiB buffers
/// above all, which glibc's dynamic threshold would otherwise move to the heap after the first
/// was freed (a server that checked a few passwords at once then held ~64 MiB for good).
///
/// Left alone when the user set either through the environment (GLIBC_TUNABLES or glibc's
/// older MALLOC_*_ variables), and on other C libraries.
public enum AllocatorTuning {
    public static let trimThreshold: Int32 = 8 * 1024 * 1024
    public static let mmapThreshold: Int32 = 4 * 1024 * 1024

    public static func apply() {
        let environment = ["GLIBC_TUNABLES", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_"]
        guard environment.allSatisfy({ getenv($0) == nil }) else { return }
        _ = wharf_set_mmap_threshold(Self.mmapThreshold)
        _ = wharf_set_trim_threshold(Self.trimThreshold)
    }
}
