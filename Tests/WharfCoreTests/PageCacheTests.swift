import Foundation
import Testing
import WharfCore

#if canImport(Glibc)
import Glibc
#endif

@Suite("Page cache before sendfile")
struct PageCacheTests {
    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// A file of `size` bytes in a fresh directory under /tmp (a disk, not tmpfs, where the
    /// kernel can drop clean pages), open for reading; the body gets its descriptor.
    static func withFile(size: Int, _ body: (CInt) throws -> Void) throws {
        let directory = "/tmp/wharf-pagecache-\(UUID())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/f"
        let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        #expect(fsync(descriptor) == 0)
        try body(descriptor)
    }

    /// Cached pages of the range, as mincore(2) sees them.
    static func cachedPages(_ descriptor: CInt, length: Int) -> Int {
        guard let mapping = mmap(nil, length, PROT_READ, MAP_SHARED, descriptor, 0), mapping != MAP_FAILED else {
            return -1
        }
        defer { munmap(mapping, length) }
        var vector = [UInt8](repeating: 0, count: (length + Self.pageSize - 1) / Self.pageSize)
        guard vector.withUnsafeMutableBufferPointer({ mincore(mapping, length, $0.baseAddress) }) == 0 else { return -1 }
        return vector.filter { $0 & 1 == 1 }.count
    }

    @Test func aRangeDroppedFromTheCacheIsReadBackIn() throws {
        let size = 4 * 1024 * 1024
        try Self.withFile(size: size) { descriptor in
            #expect(posix_fadvise(descriptor, 0, off_t(size), POSIX_FADV_DONTNEED) == 0)
            let pages = size / Self.pageSize
            let before = Self.cachedPages(descriptor, length: size)
            // From an odd offset to an odd end: every page the range touches.
            let offset = Self.pageSize + 100
            let length = size - 2 * Self.pageSize
            #expect(PageCache.makeResident(descriptor: descriptor, offset: UInt64(offset), length: length) == nil)
            let after = Self.cachedPages(descriptor, length: size)
            // /tmp is a disk here: the kernel dropped the pages, so the read-in is what is checked.
            #expect(before < pages / 2, "cached pages after POSIX_FADV_DONTNEED: \(before) of \(pages)")
            #expect(after >= pages - 2, "cached pages: \(before) before, \(after) after, of \(pages)")
        }
    }

    @Test func rangesPastTheEndAndBadDescriptorsAreHarmless() throws {
        try Self.withFile(size: 10_000) { descriptor in
            #expect(PageCache.makeResident(descriptor: descriptor, offset: 8_000, length: 1 << 20) == nil)
            #expect(PageCache.makeResident(descriptor: descriptor, offset: 1 << 30, length: 4096) == nil)
            #expect(PageCache.makeResident(descriptor: descriptor, offset: .max - 10, length: 4096) == nil)
            #expect(PageCache.makeResident(descriptor: descriptor, offset: 0, length: 0) == nil)
        }
        #expect(PageCache.makeResident(descriptor: -1, offset: 0, length: 4096) == nil)
    }
}
