import NIOCore

/// File attributes as SFTP version 3 encodes them: every field is optional and a flag says which are present.
public struct SFTPFileAttributes: Hashable, Sendable {
    public struct Flags: OptionSet, Hashable, Sendable {
        public var rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let size = Flags(rawValue: 0x0000_0001)
        public static let uidgid = Flags(rawValue: 0x0000_0002)
        public static let permissions = Flags(rawValue: 0x0000_0004)
        public static let acmodtime = Flags(rawValue: 0x0000_0008)
        public static let extended = Flags(rawValue: 0x8000_0000)
    }

    public var size: UInt64?
    /// uid and gid travel together in version 3.
    public var uidgid: (uid: UInt32, gid: UInt32)? {
        get { self.ids.map { ($0.uid, $0.gid) } }
        set { self.ids = newValue.map { IDs(uid: $0.uid, gid: $0.gid) } }
    }
    /// The full `st_mode`, file type bits included, as OpenSSH sends it.
    public var permissions: UInt32?
    /// Access and modification time travel together in version 3, in seconds since the epoch.
    public var accessModificationTime: (atime: UInt32, mtime: UInt32)? {
        get { self.times.map { ($0.atime, $0.mtime) } }
        set { self.times = newValue.map { Times(atime: $0.atime, mtime: $0.mtime) } }
    }
    public var extended: [(type: String, data: String)] {
        get { self.extendedPairs.map { ($0.type, $0.data) } }
        set { self.extendedPairs = newValue.map { ExtendedPair(type: $0.type, data: $0.data) } }
    }

    private struct IDs: Hashable, Sendable { var uid: UInt32; var gid: UInt32 }
    private struct Times: Hashable, Sendable { var atime: UInt32; var mtime: UInt32 }
    private struct ExtendedPair: Hashable, Sendable { var type: String; var data: String }
    private var ids: IDs?
    private var times: Times?
    private var extendedPairs: [ExtendedPair] = []

    public init(
        size: UInt64? = nil,
        uidgid: (uid: UInt32, gid: UInt32)? = nil,
        permissions: UInt32? = nil,
        accessModificationTime: (atime: UInt32, mtime: UInt32)? = nil
    ) {
        self.size = size
        self.permissions = permissions
        self.uidgid = uidgid
        self.accessModificationTime = accessModificationTime
    }

    public static let empty = SFTPFileAttributes()

    public var flags: Flags {
        var flags: Flags = []
        if self.size != nil { flags.insert(.size) }
        if self.ids != nil { flags.insert(.uidgid) }
        if self.permissions != nil { flags.insert(.permissions) }
        if self.times != nil { flags.insert(.acmodtime) }
        if !self.extendedPairs.isEmpty { flags.insert(.extended) }
        return flags
    }
}

extension ByteBuffer {
    /// Reads an ATTRS structure; nil (reader index unchanged) when the buffer ends inside it.
    public mutating func readSFTPFileAttributes() -> SFTPFileAttributes? {
        let saved = self.readerIndex
        guard let attributes = self.readSFTPFileAttributesFields() else {
            self.moveReaderIndex(to: saved)
            return nil
        }
        return attributes
    }

    private mutating func readSFTPFileAttributesFields() -> SFTPFileAttributes? {
        guard let raw = self.readInteger(as: UInt32.self) else { return nil }
        let flags = SFTPFileAttributes.Flags(rawValue: raw)
        var attributes = SFTPFileAttributes()
        if flags.contains(.size) {
            guard let size = self.readInteger(as: UInt64.self) else { return nil }
            attributes.size = size
        }
        if flags.contains(.uidgid) {
            guard let uid = self.readInteger(as: UInt32.self), let gid = self.readInteger(as: UInt32.self) else {
                return nil
            }
            attributes.uidgid = (uid, gid)
        }
        if flags.contains(.permissions) {
            guard let permissions = self.readInteger(as: UInt32.self) else { return nil }
            attributes.permissions = permissions
        }
        if flags.contains(.acmodtime) {
            guard let atime = self.readInteger(as: UInt32.self), let mtime = self.readInteger(as: UInt32.self) else {
                return nil
            }
            attributes.accessModificationTime = (atime, mtime)
        }
        if flags.contains(.extended) {
            guard let count = self.readInteger(as: UInt32.self) else { return nil }
            var pairs: [(type: String, data: String)] = []
            // Each pair takes at least 8 bytes: refuse counts the packet cannot hold before allocating.
            guard Int(count) <= self.readableBytes / 8 else { return nil }
            for _ in 0..<count {
                guard let type = self.readSFTPString(), let data = self.readSFTPString() else { return nil }
                pairs.append((type, data))
            }
            attributes.extended = pairs
        }
        return attributes
    }

    @discardableResult
    public mutating func writeSFTPFileAttributes(_ attributes: SFTPFileAttributes) -> Int {
        let start = self.writerIndex
        self.writeInteger(attributes.flags.rawValue)
        if let size = attributes.size { self.writeInteger(size) }
        if let ids = attributes.uidgid {
            self.writeInteger(ids.uid)
            self.writeInteger(ids.gid)
        }
        if let permissions = attributes.permissions { self.writeInteger(permissions) }
        if let times = attributes.accessModificationTime {
            self.writeInteger(times.atime)
            self.writeInteger(times.mtime)
        }
        let extended = attributes.extended
        if !extended.isEmpty {
            self.writeInteger(UInt32(extended.count))
            for pair in extended {
                self.writeSFTPString(pair.type)
                self.writeSFTPString(pair.data)
            }
        }
        return self.writerIndex - start
    }
}
