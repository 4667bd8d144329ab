#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Brings a file range into the page cache before `sendfile(2)` sends it from an event loop.
///
/// sendfile copies from the page cache; a page that is not there is read from the disk inside
/// the call, and the event loop, with every connection on it, waits. Calling `makeResident` on a
/// thread pool first moves that wait there. Blocking: call it on a thread pool.
public enum PageCache {
    static let pageSize = max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))

    /// Blocks until the pages of `length` bytes from `offset` are cached (pages past the end of the
    /// file count as done). Best effort: nil when done or when residency cannot be asked (the file
    /// cannot be mapped: sendfile then reads as before), else the errno of a failed read.
    ///
    /// Residency comes from mincore(2) on a read-only mapping that is never touched (touching a
    /// page past a concurrently truncated end would raise SIGBUS); missing pages are read with a
    /// one-byte pread each, which waits for the page and starts the kernel's readahead. Linux
    /// reports every page as cached for files the process may neither write nor owns (since 5.0):
    /// for those this does nothing.
    public static func makeResident(descriptor: CInt, offset: UInt64, length: Int) -> CInt? {
        guard length > 0, offset <= UInt64(Int64.max) - UInt64(length) else { return nil }
        let start = offset - offset % UInt64(Self.pageSize)
        let span = Int(offset - start) + length
        guard let mapping = mmap(nil, span, PROT_READ, MAP_SHARED, descriptor, off_t(start)), mapping != MAP_FAILED
        else { return nil }
        defer { munmap(mapping, span) }
        let pages = (span + Self.pageSize - 1) / Self.pageSize
        var residency = [UInt8](repeating: 0, count: pages)
        let asked = residency.withUnsafeMutableBufferPointer { vector in
            mincore(mapping, span, vector.baseAddress)
        }
        guard asked == 0 else { return nil }
        guard residency.contains(where: { $0 & 1 == 0 }) else { return nil }
        var byte: UInt8 = 0
        for page in residency.indices where residency[page] & 1 == 0 {
            while pread(descriptor, &byte, 1, off_t(start) + off_t(page * Self.pageSize)) < 0 {
                if errno != EINTR { return errno }
            }
        }
        return nil
    }
}
