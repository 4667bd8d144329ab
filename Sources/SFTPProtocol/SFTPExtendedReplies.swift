import NIOCore

/// The reply to `limits@openssh.com` (OpenSSH's PROTOCOL, section 4.8): four uint64, 0 meaning "no limit".
public struct SFTPLimits: Hashable, Sendable {
    /// The largest packet the server accepts, length field excluded.
    public var maximumPacketLength: UInt64
    /// The most data the server returns for one READ.
    public var maximumReadLength: UInt64
    /// The most data the server accepts in one WRITE.
    public var maximumWriteLength: UInt64
    /// The most handles the server lets one session hold open.
    public var maximumOpenHandles: UInt64

    public init(maximumPacketLength: UInt64, maximumReadLength: UInt64, maximumWriteLength: UInt64, maximumOpenHandles: UInt64) {
        self.maximumPacketLength = maximumPacketLength
        self.maximumReadLength = maximumReadLength
        self.maximumWriteLength = maximumWriteLength
        self.maximumOpenHandles = maximumOpenHandles
    }

    /// Decodes the payload of the EXTENDED_REPLY (the bytes after the request id).
    public init(payload: ByteBuffer) throws(SFTPProtocolError) {
        var fields = SFTPFieldReader(buffer: payload, truncated: .malformed("truncated limits@openssh.com reply"))
        self.maximumPacketLength = try fields.uint64()
        self.maximumReadLength = try fields.uint64()
        self.maximumWriteLength = try fields.uint64()
        self.maximumOpenHandles = try fields.uint64()
    }

    public var payload: ByteBuffer {
        var payload = ByteBuffer()
        for value in [self.maximumPacketLength, self.maximumReadLength, self.maximumWriteLength, self.maximumOpenHandles] {
            payload.writeInteger(value)
        }
        return payload
    }
}

/// The reply to `statvfs@openssh.com` and `fstatvfs@openssh.com` (OpenSSH's PROTOCOL, section 4.4):
/// the fields of `struct statvfs`, each a uint64.
public struct SFTPStatVFS: Hashable, Sendable {
    public struct Flags: OptionSet, Hashable, Sendable {
        public var rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }
        public static let readOnly = Flags(rawValue: 0x1)
        public static let noSetUID = Flags(rawValue: 0x2)
    }

    public var blockSize: UInt64
    public var fragmentSize: UInt64
    /// Size of the file system in `fragmentSize` units.
    public var blocks: UInt64
    public var freeBlocks: UInt64
    /// Free blocks available to unprivileged users.
    public var availableBlocks: UInt64
    public var files: UInt64
    public var freeFiles: UInt64
    public var availableFiles: UInt64
    public var fileSystemID: UInt64
    public var flags: Flags
    public var maximumNameLength: UInt64

    public init(
        blockSize: UInt64, fragmentSize: UInt64, blocks: UInt64, freeBlocks: UInt64, availableBlocks: UInt64,
        files: UInt64, freeFiles: UInt64, availableFiles: UInt64, fileSystemID: UInt64, flags: Flags,
        maximumNameLength: UInt64
    ) {
        self.blockSize = blockSize
        self.fragmentSize = fragmentSize
        self.blocks = blocks
        self.freeBlocks = freeBlocks
        self.availableBlocks = availableBlocks
        self.files = files
        self.freeFiles = freeFiles
        self.availableFiles = availableFiles
        self.fileSystemID = fileSystemID
        self.flags = flags
        self.maximumNameLength = maximumNameLength
    }

    /// Decodes the payload of the EXTENDED_REPLY (the bytes after the request id).
    public init(payload: ByteBuffer) throws(SFTPProtocolError) {
        var fields = SFTPFieldReader(buffer: payload, truncated: .malformed("truncated statvfs@openssh.com reply"))
        self.blockSize = try fields.uint64()
        self.fragmentSize = try fields.uint64()
        self.blocks = try fields.uint64()
        self.freeBlocks = try fields.uint64()
        self.availableBlocks = try fields.uint64()
        self.files = try fields.uint64()
        self.freeFiles = try fields.uint64()
        self.availableFiles = try fields.uint64()
        self.fileSystemID = try fields.uint64()
        self.flags = Flags(rawValue: try fields.uint64())
        self.maximumNameLength = try fields.uint64()
    }

    public var payload: ByteBuffer {
        var payload = ByteBuffer()
        for value in [
            self.blockSize, self.fragmentSize, self.blocks, self.freeBlocks, self.availableBlocks, self.files,
            self.freeFiles, self.availableFiles, self.fileSystemID, self.flags.rawValue, self.maximumNameLength,
        ] {
            payload.writeInteger(value)
        }
        return payload
    }

    /// Total size in bytes (`blocks × fragmentSize`), saturating.
    public var totalBytes: UInt64 { Self.product(self.blocks, self.fragmentSize) }
    /// Bytes available to unprivileged users (`availableBlocks × fragmentSize`), saturating.
    public var availableBytes: UInt64 { Self.product(self.availableBlocks, self.fragmentSize) }

    private static func product(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (value, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? .max : value
    }
}

/// The reply to `check-file-name` / `check-file-handle` (draft-ietf-secsh-filexfer-extensions-00,
/// section 3): the algorithm the server chose, then the hashes of each block, concatenated.
///
/// The draft's reply starts with the string "check-file", which paramiko and Wharf's server send;
/// some servers leave it out, so it is optional when decoding and written when encoding.
public struct SFTPCheckFileReply: Hashable, Sendable {
    public var algorithm: String
    /// One digest per block, concatenated; a single digest when the block size was 0.
    public var hashes: [UInt8]

    public init(algorithm: String, hashes: [UInt8]) {
        self.algorithm = algorithm
        self.hashes = hashes
    }

    /// Decodes the payload of the EXTENDED_REPLY (the bytes after the request id).
    public init(payload: ByteBuffer) throws(SFTPProtocolError) {
        var fields = SFTPFieldReader(buffer: payload, truncated: .malformed("truncated check-file reply"))
        var algorithm = try fields.string()
        if algorithm == SFTPExtendedRequest.Name.checkFileLegacy {
            algorithm = try fields.string()
        }
        guard !algorithm.isEmpty else { throw .malformed("check-file reply without an algorithm") }
        self.algorithm = algorithm
        self.hashes = Array(fields.buffer.readableBytesView)
    }

    public var payload: ByteBuffer {
        var payload = ByteBuffer()
        payload.writeSFTPString(SFTPExtendedRequest.Name.checkFileLegacy)
        payload.writeSFTPString(self.algorithm)
        payload.writeBytes(self.hashes)
        return payload
    }
}
