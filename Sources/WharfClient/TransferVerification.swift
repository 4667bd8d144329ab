import Crypto
import NIOCore
import SFTPProtocol
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The outcome of an end-to-end check of a transferred file.
public struct TransferVerification: Sendable, Hashable {
    public enum Method: Sendable, Hashable {
        /// The server hashed the file (SFTP check-file, FTP HASH/XSHA256/XCRC).
        case checkFile
        /// The file was read back and hashed here.
        case readBack
    }

    public var method: Method
    /// The hash algorithm, as check-file names it ("sha256", "md5", …).
    public var algorithm: String
    /// The digest both sides agreed on.
    public var digest: [UInt8]

    public var hexDigest: String { hexString(self.digest) }
}

/// Hash algorithms for verification in order of preference: SHA-256 first; the older ones only when
/// the server offers nothing better; CRC-32 (FTP's XCRC) last.
let verificationAlgorithms = ["sha256", "sha512", "sha384", "sha1", "md5", "crc32"]

extension SFTPClient {
    /// Whether files can be verified without reading them back (`check-file-name` or `-handle`).
    public var offersCheckFile: Bool {
        self.supports(SFTPExtendedRequest.Name.checkFileName) || self.supports(SFTPExtendedRequest.Name.checkFileHandle)
    }

    /// `check-file-name`, else `check-file-handle`; nil when the server offers neither or refuses both.
    public func serverDigest(of path: String, algorithms: [String]) async throws -> (algorithm: String, hash: [UInt8])? {
        for byHandle in [false, true] {
            let name = byHandle ? SFTPExtendedRequest.Name.checkFileHandle : SFTPExtendedRequest.Name.checkFileName
            guard self.supports(name) else { continue }
            do {
                return byHandle
                    ? try await self.checkFileByHandle(path: path, algorithms: algorithms)
                    : try await self.checkFile(path: path, algorithms: algorithms)
            } catch let error as SFTPClientError where error.statusCode != nil {
                // Refused (not permitted, no common algorithm…): try the next way.
                self.logger.debug("\(name) refused for \(path): \(error)")
            }
        }
        return nil
    }
}

extension RemoteFileSystem {
    /// Compares a local file with a remote one end to end: sizes first, then a hash of the whole
    /// file computed by the server (SFTP `check-file-name` or `check-file-handle`, FTP `HASH`,
    /// `XSHA256` or `XCRC`; SHA-256 where offered) against the same hash of the local file; where
    /// the server offers none (or refuses), the remote file is read back and hashed here with SHA-256.
    ///
    /// Throws `FileTransferError.verificationFailed` when they differ.
    @discardableResult
    public func verify(
        localPath: String, remotePath: String, requestsInFlight: Int = SFTPClient.defaultRequestsInFlight
    ) async throws -> TransferVerification {
        try await self.verify(localPath: localPath, remotePath: remotePath, reportedPath: remotePath, requestsInFlight: requestsInFlight)
    }

    /// `verify`, naming `reportedPath` in the error (the final name when checking a temporary file).
    func verify(
        localPath: String, remotePath: String, reportedPath: String, requestsInFlight: Int
    ) async throws -> TransferVerification {
        let digests: Digests
        switch try await self.compareContents(localPath: localPath, remotePath: remotePath, requestsInFlight: requestsInFlight) {
        case .sizes(let local, let remote):
            throw FileTransferError.verificationFailed(
                path: reportedPath, algorithm: "size", local: String(local), remote: String(remote))
        case .digests(let computed):
            digests = computed
        }
        guard digests.local == digests.remote else {
            throw FileTransferError.verificationFailed(
                path: reportedPath, algorithm: digests.algorithm.rawValue, local: hexString(digests.local),
                remote: hexString(digests.remote))
        }
        return TransferVerification(method: digests.method, algorithm: digests.algorithm.rawValue, digest: digests.local)
    }

    /// Whether the two files have the same contents (sizes, then hashes as `verify` computes them).
    func contentsMatch(localPath: String, remotePath: String, requestsInFlight: Int) async throws -> Bool {
        switch try await self.compareContents(localPath: localPath, remotePath: remotePath, requestsInFlight: requestsInFlight) {
        case .sizes: return false
        case .digests(let digests): return digests.local == digests.remote
        }
    }

    private func compareContents(localPath: String, remotePath: String, requestsInFlight: Int) async throws -> Comparison {
        guard let localStatus = try await LocalFileSystem.status(localPath) else {
            throw LocalFileError(path: localPath, operation: "stat", errno: ENOENT)
        }
        // Without a remote size, only the hashes can tell.
        if let remoteSize = try await self.stat(remotePath).size, remoteSize != localStatus.size {
            return .sizes(local: localStatus.size, remote: remoteSize)
        }
        return .digests(try await self.digests(localPath: localPath, remotePath: remotePath, requestsInFlight: requestsInFlight))
    }

    private func digests(localPath: String, remotePath: String, requestsInFlight: Int) async throws -> Digests {
        if let (algorithmName, hash) = try await self.serverDigest(of: remotePath, algorithms: verificationAlgorithms) {
            if let algorithm = DigestAlgorithm(rawValue: algorithmName.lowercased()), hash.count == algorithm.digestLength {
                let local = try await localDigest(path: localPath, algorithm: algorithm)
                return Digests(method: .checkFile, algorithm: algorithm, local: local, remote: hash)
            }
            self.logger.debug("the server hashed \(remotePath) with \(algorithmName), \(hash.count) bytes: reading it back")
        }
        let algorithm = DigestAlgorithm.sha256
        async let local = localDigest(path: localPath, algorithm: algorithm)
        let sink = DigestingSink(algorithm: algorithm)
        _ = try await self.download(remotePath, to: sink, from: 0, requestsInFlight: requestsInFlight, progress: nil)
        let remote = try sink.finish()
        return Digests(method: .readBack, algorithm: algorithm, local: try await local, remote: remote)
    }
}

private struct Digests {
    var method: TransferVerification.Method
    var algorithm: DigestAlgorithm
    var local: [UInt8]
    var remote: [UInt8]
}

private enum Comparison {
    /// The sizes differ; nothing was hashed.
    case sizes(local: UInt64, remote: UInt64)
    case digests(Digests)
}

extension SFTPClient {
    /// `check-file-handle` over a handle opened for reading: for servers that offer only that.
    func checkFileByHandle(path: String, algorithms: [String]) async throws -> (algorithm: String, hash: [UInt8]) {
        let file = try await self.open(path, flags: .read)
        let payload: ByteBuffer
        do {
            let request = SFTPExtendedRequest.checkFile(
                target: .handle(file.handle), algorithms: algorithms, startOffset: 0, length: 0, blockSize: 0)
            payload = try await self.extended(request, path: path).expectExtendedReply(path: path)
        } catch {
            try? await file.close()
            throw error
        }
        try await file.close()
        do {
            let reply = try SFTPCheckFileReply(payload: payload)
            return (reply.algorithm, reply.hashes)
        } catch {
            throw SFTPClientError.malformedReply(error)
        }
    }
}

// MARK: - Hashing

/// The check-file algorithms swift-crypto can compute.
enum DigestAlgorithm: String, Sendable, CaseIterable {
    case sha256, sha384, sha512, sha1, md5, crc32

    var digestLength: Int {
        switch self {
        case .crc32: return 4
        case .sha256: return SHA256.byteCount
        case .sha384: return SHA384.byteCount
        case .sha512: return SHA512.byteCount
        case .sha1: return Insecure.SHA1.byteCount
        case .md5: return Insecure.MD5.byteCount
        }
    }
}

/// A running hash of any of the algorithms.
struct RunningDigest: Sendable {
    private enum State: Sendable {
        case sha256(SHA256)
        case sha384(SHA384)
        case sha512(SHA512)
        case sha1(Insecure.SHA1)
        case md5(Insecure.MD5)
        case crc32(CRC32)
    }

    private var state: State

    init(_ algorithm: DigestAlgorithm) {
        switch algorithm {
        case .sha256: self.state = .sha256(SHA256())
        case .sha384: self.state = .sha384(SHA384())
        case .sha512: self.state = .sha512(SHA512())
        case .sha1: self.state = .sha1(Insecure.SHA1())
        case .md5: self.state = .md5(Insecure.MD5())
        case .crc32: self.state = .crc32(CRC32())
        }
    }

    mutating func update(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { bytes in
            switch self.state {
            case .sha256(var hasher): hasher.update(bufferPointer: bytes); self.state = .sha256(hasher)
            case .sha384(var hasher): hasher.update(bufferPointer: bytes); self.state = .sha384(hasher)
            case .sha512(var hasher): hasher.update(bufferPointer: bytes); self.state = .sha512(hasher)
            case .sha1(var hasher): hasher.update(bufferPointer: bytes); self.state = .sha1(hasher)
            case .md5(var hasher): hasher.update(bufferPointer: bytes); self.state = .md5(hasher)
            case .crc32(var hasher): hasher.update(bytes); self.state = .crc32(hasher)
            }
        }
    }

    func finalize() -> [UInt8] {
        switch self.state {
        case .sha256(let hasher): return Array(hasher.finalize())
        case .sha384(let hasher): return Array(hasher.finalize())
        case .sha512(let hasher): return Array(hasher.finalize())
        case .sha1(let hasher): return Array(hasher.finalize())
        case .md5(let hasher): return Array(hasher.finalize())
        case .crc32(let hasher): return hasher.bigEndianBytes
        }
    }
}

/// Hashes a local file, read through `LocalFile` (on its thread pool) in 1 MiB blocks.
func localDigest(path: String, algorithm: DigestAlgorithm) async throws -> [UInt8] {
    let file = try await LocalFile.open(path, mode: .read)
    var digest = RunningDigest(algorithm)
    do {
        var offset: UInt64 = 0
        let block = 1024 * 1024
        while true {
            try Task.checkCancellation()
            let data = try await file.read(at: offset, length: block)
            if data.readableBytes == 0 { break }
            digest.update(data)
            offset += UInt64(data.readableBytes)
        }
    } catch {
        try? await file.close()
        throw error
    }
    try await file.close()
    return digest.finalize()
}

/// A download sink that hashes what it is given, in file order: blocks that arrive ahead of a gap
/// (a short read being asked again) wait until the gap is filled.
final class DigestingSink: LocalSink {
    private struct State {
        var digest: RunningDigest
        var nextOffset: UInt64 = 0
        var waiting: [UInt64: ByteBuffer] = [:]
    }

    private let state: Mutex<State>

    init(algorithm: DigestAlgorithm) {
        self.state = Mutex(State(digest: RunningDigest(algorithm)))
    }

    func write(_ data: ByteBuffer, at offset: UInt64) async throws {
        self.state.withLock { state in
            guard offset >= state.nextOffset else { return }  // already hashed (cannot happen: ranges are asked once)
            state.waiting[offset] = data
            while let next = state.waiting.removeValue(forKey: state.nextOffset) {
                state.digest.update(next)
                state.nextOffset += UInt64(next.readableBytes)
            }
        }
    }

    /// The digest of everything written; throws when a gap was never filled.
    func finish() throws -> [UInt8] {
        try self.state.withLock { state in
            guard state.waiting.isEmpty else {
                throw SFTPClientError.unexpectedReply("read back with a gap at byte \(state.nextOffset)")
            }
            return state.digest.finalize()
        }
    }
}

func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var characters: [UInt8] = []
    characters.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        characters.append(digits[Int(byte >> 4)])
        characters.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: characters, as: UTF8.self)
}
