import SFTPProtocol

/// Limits and policy of one SFTP session.
public struct SFTPSessionConfiguration: Sendable {
    /// Refuse every request that writes (OpenSSH's `-R`).
    public var readOnly = false
    /// Request names refused (`-P`); see `SFTPOperation.all` for the names.
    public var deniedRequests: Set<String> = []
    /// When set, only these requests are served (`-p`).
    public var allowedRequests: Set<String>? = nil
    public var maximumOpenHandles = 1024
    /// Requests served at once; more wait, and the transport stops reading, which pushes back on the client.
    public var maximumConcurrentRequests = 64
    /// READs served ahead of their replies hold at most this much file data. Replies leave one at a
    /// time, so data read far ahead only waits; a small window keeps the buffers in the CPU's cache
    /// and lets the allocator hand the same memory back, instead of faulting in fresh pages for
    /// every read (64 reads of 255 KiB ahead made every copy miss the cache).
    public var maximumReadAheadBytes = 2 * 1024 * 1024
    /// OpenSSH's client refuses replies over 256 KiB, so a DATA reply and its header must fit in
    /// that: like OpenSSH's server, reads are served up to 256 KiB less 1 KiB.
    public var maximumReadLength = 256 * 1024 - 1024
    /// Incoming packets may be up to `maximumPacketLength`, which leaves room for a full 256 KiB write.
    public var maximumWriteLength = 256 * 1024
    public var maximumPacketLength = SFTPFrameDecoder.defaultMaximumPacketLength
    /// Entries per READDIR reply (OpenSSH sends 100).
    public var directoryBatchSize = 100
    /// Bytes of a large DATA reply's payload copied behind its 13-byte header, the rest sent as it
    /// was read. On an SSH channel each write becomes SSH packets of its own, so a header written
    /// alone is a packet of its own: one more for the client to take per reply (9 instead of 8 for
    /// 255 KiB at OpenSSH's 32 KiB packets). 0 where the transport writes both in one go (a pipe).
    public var dataHeaderFillLength = 0
    /// `dataHeaderFillLength` for an SSH channel: the header and this much fill a 32 KiB packet,
    /// the largest OpenSSH's, paramiko's and asyncssh's clients take.
    public static let sshChannelDataHeaderFillLength = 32 * 1024 - 13
    /// The account name, for the home-directory extension.
    public var userName: String?

    public init() {}

    func permits(_ operation: SFTPOperation) -> Bool {
        if let allowed = self.allowedRequests, !allowed.contains(operation.name) { return false }
        return !self.deniedRequests.contains(operation.name)
    }
}
