import FTPProtocol
import Logging
import NIOCore
import SFTPProtocol
import Synchronization
import WharfTLS

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An FTP / FTPS client behind the same `RemoteFileSystem` API as `SFTPClient`, so that
/// `downloadFile`, `uploadTree`, `mirror` and the rest work over either.
///
/// An FTP control connection carries one transfer at a time, so the client keeps a small pool of
/// logged-in connections (up to `options.maximumConnections`), each used by one call at a time;
/// transfers run in parallel over separate connections, as lftp does. A connection whose
/// conversation broke is dropped and replaced on demand. Call `close()` when done.
public final class FTPClient: RemoteFileSystem {
    public let options: FTPConnectionOptions
    public let logger: Logger
    /// The first connection's FEAT (every connection to one server says the same).
    let features: FTPFeatures
    private let tlsContext: TLSClientContext?
    private let pool: Mutex<Pool>
    /// Verification commands the server turned out not to know (XSHA256, XCRC).
    private let unknownCommands = Mutex<Set<String>>([])

    private struct Pool {
        var idle: [FTPControlConnection] = []
        var open = 0
        var limit: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
        var closed = false
    }

    private init(options: FTPConnectionOptions, logger: Logger, tlsContext: TLSClientContext?, first: FTPControlConnection) {
        self.options = options
        self.logger = logger
        self.tlsContext = tlsContext
        self.features = first.features
        self.pool = Mutex(Pool(idle: [first], open: 1, limit: max(1, options.maximumConnections)))
    }

    /// Connects and logs in once (so that a wrong password or an untrusted certificate shows here);
    /// more connections are opened when calls run in parallel.
    public static func connect(_ options: FTPConnectionOptions, logger: Logger) async throws -> FTPClient {
        let tlsContext = options.security == .none ? nil : try TLSClientContext(configuration: options.tls)
        let first = try await FTPControlConnection.connect(options, tlsContext: tlsContext, logger: logger)
        return FTPClient(options: options, logger: logger, tlsContext: tlsContext, first: first)
    }

    /// Closes every connection (QUIT). Calls still running fail.
    public func close() async {
        let idle = self.pool.withLock { pool in
            pool.closed = true
            defer { pool.idle = [] }
            return pool.idle
        }
        for connection in idle { await connection.close() }
    }

    public var listingTimeResolution: UInt32 { self.features.machineListings ? 1 : 60 }

    // MARK: The pool

    /// Runs `body` with a connection of its own.
    @discardableResult
    func withConnection<T: Sendable>(_ body: (FTPControlConnection) async throws -> T) async throws -> T {
        let connection = try await self.acquire()
        do {
            let result = try await body(connection)
            self.release(connection)
            return result
        } catch {
            self.release(connection)
            throw error
        }
    }

    private enum Acquisition {
        case use(FTPControlConnection)
        case open
        case wait
        case closed
    }

    private func acquire() async throws -> FTPControlConnection {
        while true {
            let next = self.pool.withLock { pool -> Acquisition in
                if pool.closed { return .closed }
                if let connection = pool.idle.popLast() { return .use(connection) }
                if pool.open < pool.limit {
                    pool.open += 1
                    return .open
                }
                return .wait
            }
            switch next {
            case .use(let connection):
                if await connection.checkIdle() { return connection }
                self.logger.debug("an idle FTP connection was closed by the server; opening another")
                self.release(connection)
            case .closed:
                throw FTPClientError.connectionClosed
            case .wait:
                await withCheckedContinuation { continuation in
                    let resumeNow = self.pool.withLock { pool -> Bool in
                        if pool.closed || !pool.idle.isEmpty || pool.open < pool.limit { return true }
                        pool.waiters.append(continuation)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            case .open:
                do {
                    return try await FTPControlConnection.connect(self.options, tlsContext: self.tlsContext, logger: self.logger)
                } catch {
                    // A server limiting connections per client: make do with those already open.
                    let othersOpen = self.pool.withLock { pool -> Bool in
                        pool.open -= 1
                        if pool.open > 0 { pool.limit = pool.open }
                        return pool.open > 0
                    }
                    self.wakeOne()
                    guard othersOpen, RemoteFailure.isRefusal(error) || ConnectionLoss.matches(error) else { throw error }
                    self.logger.debug("another FTP connection failed (\(error)); going on with fewer")
                }
            }
        }
    }

    private func release(_ connection: FTPControlConnection) {
        let keep = !connection.isBroken && connection.channel.isActive
        let closed = self.pool.withLock { pool -> Bool in
            if keep, !pool.closed {
                pool.idle.append(connection)
            } else {
                pool.open -= 1
            }
            return pool.closed
        }
        if !keep || closed { connection.channel.close(promise: nil) }
        self.wakeOne()
    }

    private func wakeOne() {
        let waiter = self.pool.withLock { pool in pool.waiters.isEmpty ? nil : pool.waiters.removeFirst() }
        waiter?.resume()
    }

    // MARK: RemoteFileSystem

    public func stat(_ path: String) async throws -> SFTPFileAttributes {
        try await self.withConnection { try await self.attributes(of: path, on: $0) }
    }

    /// FTP cannot tell a link from its target with MLST or SIZE: the same as `stat`.
    public func lstat(_ path: String) async throws -> SFTPFileAttributes {
        try await self.stat(path)
    }

    /// Times with MFMT (or MDTM with a time, as vsftpd takes it), permissions with SITE CHMOD.
    /// Each that the server refuses is an error; the other is still tried.
    public func setAttributes(_ path: String, _ attributes: SFTPFileAttributes) async throws {
        let argument = try FTPControlConnection.checkedPath(path)
        try await self.withConnection { connection in
            var failure: (any Error)? = nil
            if let times = attributes.accessModificationTime {
                let stamp = FTPTimestamp(secondsSinceEpoch: Int64(times.mtime)).description
                let verb = connection.features.setModificationTime ? "MFMT" : "MDTM"
                do {
                    try await connection.require(verb, "\(stamp) \(argument)", path: path)
                } catch {
                    failure = error
                }
            }
            if let permissions = attributes.permissions {
                do {
                    try await connection.require("SITE", "CHMOD \(String(permissions & 0o7777, radix: 8)) \(argument)", path: path)
                } catch {
                    if failure == nil { failure = error }
                }
            }
            if let failure { throw failure }
        }
    }

    public func listDirectory(_ path: String, includingDotEntries: Bool = false) async throws -> [SFTPName] {
        try await self.withConnection { connection in
            let entries: [FTPRemoteEntry]
            if connection.features.machineListings {
                entries = FTPListParser.parseMLSD(try await connection.listing("MLSD", path))
            } else {
                let now = Self.unixTime()
                let listed = FTPListParser.parseList(try await connection.listing("LIST", path), referenceTime: now)
                entries = try await Self.refiningDayOnlyTimes(of: listed, in: path, now: now, on: connection)
            }
            return entries.compactMap { entry -> SFTPName? in
                switch entry.role {
                case .entry:
                    return SFTPName(filename: entry.name, longname: "", attributes: Self.attributes(entry))
                case .current, .parent:
                    guard includingDotEntries else { return nil }
                    return SFTPName(filename: entry.role == .current ? "." : "..", longname: "", attributes: Self.attributes(entry))
                }
            }
        }
    }

    public func makeDirectory(_ path: String, permissions: UInt32? = nil) async throws {
        let argument = try FTPControlConnection.checkedPath(path)
        try await self.withConnection { try await $0.require("MKD", argument, path: path) }
        if let permissions {
            try await self.setAttributes(path, SFTPFileAttributes(permissions: permissions))
        }
    }

    public func removeDirectory(_ path: String) async throws {
        let argument = try FTPControlConnection.checkedPath(path)
        try await self.withConnection { try await $0.require("RMD", argument, path: path) }
    }

    public func removeFile(_ path: String) async throws {
        let argument = try FTPControlConnection.checkedPath(path)
        try await self.withConnection { try await $0.require("DELE", argument, path: path) }
    }

    /// RNFR/RNTO. With `overwriting`, when the server refuses to rename over an existing file, the
    /// file is deleted first and the rename tried once more.
    public func rename(from source: String, to destination: String, overwriting: Bool = false) async throws {
        let from = try FTPControlConnection.checkedPath(source)
        let to = try FTPControlConnection.checkedPath(destination)
        try await self.withConnection { connection in
            do {
                try await connection.require("RNFR", from, path: source, intermediate: true)
                try await connection.require("RNTO", to, path: destination)
            } catch where overwriting && RemoteFailure.isRefusal(error) {
                guard let existing = try? await self.attributes(of: destination, on: connection),
                    existing.isRegularFile
                else { throw error }
                try await connection.require("DELE", to, path: destination)
                try await connection.require("RNFR", from, path: source, intermediate: true)
                try await connection.require("RNTO", to, path: destination)
            }
        }
    }

    public func download(
        _ remotePath: String, to sink: some LocalSink, from offset: UInt64 = 0,
        requestsInFlight: Int = SFTPClient.defaultRequestsInFlight, progress: (@Sendable (UInt64) -> Void)? = nil
    ) async throws -> UInt64 {
        try await self.withConnection { connection in
            try await connection.retrieve(remotePath, from: offset, to: sink, progress: progress)
        }
    }

    /// STOR, or from a non-zero offset REST+STOR (APPE where the server offers no REST STREAM).
    /// `permissions` are not sent here: `uploadFile` sets them afterwards with SITE CHMOD.
    public func upload(
        from source: some LocalSource, to remotePath: String, at offset: UInt64 = 0, truncate: Bool,
        permissions: UInt32? = nil, requestsInFlight: Int = SFTPClient.defaultRequestsInFlight,
        progress: (@Sendable (UInt64) -> Void)? = nil
    ) async throws -> UInt64 {
        try await self.withConnection { connection in
            try await connection.store(
                remotePath, from: source, at: offset, append: offset > 0 && !connection.features.restartStream,
                progress: progress)
        }
    }

    /// HASH where FEAT offers it (after OPTS HASH for the preferred algorithm), else XSHA256, else
    /// XCRC; nil when none works.
    public func serverDigest(of path: String, algorithms: [String]) async throws -> (algorithm: String, hash: [UInt8])? {
        let argument = try FTPControlConnection.checkedPath(path)
        return try await self.withConnection { connection in
            let (offered, selected) = connection.features.hashAlgorithms
            let usable = offered.compactMap { name in FTPHashAlgorithm.checkFileName(name).map { (ftp: name, checkFile: $0) } }
            if let choice = algorithms.lazy.compactMap({ wanted in usable.first { $0.checkFile == wanted } }).first {
                var ready = choice.ftp == selected
                if !ready { ready = try await connection.execute("OPTS HASH \(choice.ftp)").code == 200 }
                if ready {
                    let reply = try await connection.execute("HASH \(argument)")
                    if reply.code == 213, let digest = Self.hexDigest(in: FTPControlConnection.text(reply), length: 0) {
                        return (choice.checkFile, digest)
                    }
                    self.logger.debug("HASH \(path): \(reply.code) \(FTPControlConnection.text(reply))")
                }
            }
            for (verb, algorithm, length) in [("XSHA256", "sha256", 64), ("XCRC", "crc32", 8)] where algorithms.contains(algorithm) {
                guard !self.unknownCommands.withLock({ $0.contains(verb) }) else { continue }
                let reply = try await connection.execute("\(verb) \(argument)")
                if reply.code / 100 == 2, let digest = Self.hexDigest(in: FTPControlConnection.text(reply), length: length) {
                    return (algorithm, digest)
                }
                if reply.code == 500 || reply.code == 502 || reply.code == 504 {
                    _ = self.unknownCommands.withLock { $0.insert(verb) }
                }
                self.logger.debug("\(verb) \(path): \(reply.code) \(FTPControlConnection.text(reply))")
            }
            return nil
        }
    }

    // MARK: Attributes

    /// `ls -l` shows files older than about six months with a date and no time: the times parsed
    /// are midnight. Those files get their exact time from MDTM, so that a mirror does not copy them
    /// again on every run.
    ///
    /// (It returns a new array rather than taking an `inout` one: the Swift 6.3 optimizer crashes
    /// splitting this coroutine with an `inout` array parameter in release builds.)
    static func refiningDayOnlyTimes(
        of entries: [FTPRemoteEntry], in directory: String, now: Int64, on connection: FTPControlConnection
    ) async throws -> [FTPRemoteEntry] {
        guard connection.features.offers("MDTM") else { return entries }
        var refined: [FTPRemoteEntry] = []
        refined.reserveCapacity(entries.count)
        for var entry in entries {
            if entry.kind == .file, entry.role == .entry, let time = entry.modificationTime, time % 86_400 == 0,
                now - time > 150 * 86_400
            {
                let path = try FTPControlConnection.checkedPath(RemotePath.join(directory, entry.name))
                let reply = try await connection.execute("MDTM \(path)")
                if reply.code == 213, let stamp = try? FTPTimestamp(parsing: FTPControlConnection.text(reply)) {
                    entry.modificationTime = stamp.secondsSinceEpoch
                }
            }
            refined.append(entry)
        }
        return refined
    }

    /// MLST where offered; else SIZE and MDTM for a file, or a CWD into it (and back) for a directory.
    func attributes(of path: String, on connection: FTPControlConnection) async throws -> SFTPFileAttributes {
        let argument = try FTPControlConnection.checkedPath(path)
        if connection.features.machineListings {
            let reply = try await connection.execute("MLST \(argument)")
            guard reply.code / 100 == 2 else {
                throw FTPClientError.refused(command: "MLST", path: path, code: reply.code, text: FTPControlConnection.text(reply))
            }
            guard let entry = FTPListParser.parseMLSTReply(reply) else {
                throw FTPClientError.unexpectedReply(command: "MLST", code: reply.code, text: FTPControlConnection.text(reply))
            }
            return Self.attributes(entry)
        }
        let size = try await connection.execute("SIZE \(argument)")
        if size.code == 213, let value = UInt64(FTPControlConnection.text(size)) {
            var modified: UInt32? = nil
            let mdtm = try await connection.execute("MDTM \(argument)")
            if mdtm.code == 213, let stamp = try? FTPTimestamp(parsing: FTPControlConnection.text(mdtm)) {
                modified = UInt32(clamping: stamp.secondsSinceEpoch)
            }
            return .withUnknownPermissionBits(typeBits: 0o100000, size: value, modificationTime: modified)
        }
        let cwd = try await connection.execute("CWD \(argument)")
        if cwd.code / 100 == 2 {
            if let home = connection.homeDirectory {
                try await connection.require("CWD", home)
            } else {
                connection.markBroken()
            }
            return .withUnknownPermissionBits(typeBits: 0o040000)
        }
        let refusal = size.code / 100 == 5 ? size : cwd
        throw FTPClientError.refused(command: "SIZE", path: path, code: refusal.code, text: FTPControlConnection.text(refusal))
    }

    /// SFTP attributes for a listed entry: the type bits always; the permission bits where the
    /// server listed them, else marked unknown (never made up).
    static func attributes(_ entry: FTPRemoteEntry) -> SFTPFileAttributes {
        let typeBits: UInt32
        switch entry.kind {
        case .file: typeBits = 0o100000
        case .directory: typeBits = 0o040000
        case .symlink: typeBits = 0o120000
        case .other: typeBits = 0o010000
        }
        let time = entry.modificationTime.map { UInt32(clamping: $0) }
        guard let permissions = entry.permissions else {
            return .withUnknownPermissionBits(typeBits: typeBits, size: entry.size, modificationTime: time)
        }
        return SFTPFileAttributes(
            size: entry.size, permissions: typeBits | (permissions & 0o7777), accessModificationTime: time.map { ($0, $0) })
    }

    /// The first run of hex digits in a reply's text (of `length` digits when non-zero; of at least
    /// 8 otherwise), as bytes.
    static func hexDigest(in text: String, length: Int) -> [UInt8]? {
        for word in text.split(separator: " ") {
            let digits = Array(word.utf8)
            guard digits.count % 2 == 0, length == 0 ? digits.count >= 8 : digits.count == length,
                digits.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) })
            else { continue }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(digits.count / 2)
            var index = 0
            while index < digits.count {
                guard let byte = UInt8(String(decoding: digits[index..<(index + 2)], as: UTF8.self), radix: 16) else { return nil }
                bytes.append(byte)
                index += 2
            }
            return bytes
        }
        return nil
    }

    static func unixTime() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec)
    }
}
