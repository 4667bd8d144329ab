import NIOCore
import SFTPProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How `downloadFile` and `uploadFile` transfer one file.
public struct TransferOptions: Sendable {
    /// Called with the bytes of the file done so far (counting what a resume kept) and its size.
    public typealias Progress = @Sendable (_ bytesDone: UInt64, _ totalBytes: UInt64) -> Void

    /// Continue a partial file instead of starting again: a download from its temporary file
    /// (`localPath + ".wharf-part"`), an upload from the remote file's size. A resumed file is
    /// verified end to end when the server offers check-file.
    public var resume: Bool
    /// Compare the whole file end to end afterwards (see `SFTPClient.verify`).
    public var verify: Bool
    /// Copy the permission bits to the destination. Modification times are always copied.
    public var preserveAttributes: Bool
    /// READ or WRITE requests outstanding at once.
    public var requestsInFlight: Int
    /// Upload to `remotePath + ".wharf-part"` and rename it over `remotePath` once complete and
    /// checked, so that readers never see a partial file under the final name (the FTP default;
    /// SFTP uploads are written in place, as OpenSSH's `sftp` does).
    public var uploadsToTemporaryName: Bool
    public var progress: Progress?

    public init(
        resume: Bool = false, verify: Bool = false, preserveAttributes: Bool = true,
        requestsInFlight: Int = SFTPClient.defaultRequestsInFlight, uploadsToTemporaryName: Bool = false,
        progress: Progress? = nil
    ) {
        self.resume = resume
        self.verify = verify
        self.preserveAttributes = preserveAttributes
        self.requestsInFlight = requestsInFlight
        self.uploadsToTemporaryName = uploadsToTemporaryName
        self.progress = progress
    }
}

/// What `downloadFile` or `uploadFile` did.
public struct FileTransferResult: Sendable, Hashable {
    /// The size of the file, now on both sides.
    public var size: UInt64
    /// Bytes sent or received by this call.
    public var bytesTransferred: UInt64
    /// Where the transfer started: 0, or the size of the partial file it continued.
    public var resumedFrom: UInt64
    /// A resumed download whose final file was already there with the right size: nothing was done.
    public var alreadyComplete: Bool
    /// Set when the file was verified end to end.
    public var verification: TransferVerification?
}

extension RemoteFileSystem {
    /// Appended to a local file's name while it is downloaded (and to a remote one while it is
    /// uploaded under a temporary name); renamed away once complete.
    public static var partialDownloadSuffix: String { ".wharf-part" }

    /// Downloads one remote file to `localPath`.
    ///
    /// The data goes to `localPath + ".wharf-part"`, never to the final name; once the size matches
    /// the remote file's, it is flushed (fsync), given the remote modification time (and the
    /// permissions unless `preserveAttributes` is off), and renamed over `localPath`. A failed or
    /// cancelled download leaves the temporary file for `resume` and nothing at `localPath`.
    ///
    /// With `resume`: a final file of the remote size is taken as done; a temporary file not larger
    /// than the remote one is continued from its size, then the whole file is verified (check-file,
    /// else read back; a mismatch starts once more from byte 0); a larger one is restarted.
    @discardableResult
    public func downloadFile(
        remotePath: String, localPath: String, options: TransferOptions = TransferOptions()
    ) async throws -> FileTransferResult {
        var attributes = try await self.stat(remotePath)
        if let mode = attributes.permissions, FileKind(mode: mode) != .file {
            throw FileTransferError.notARegularFile(path: remotePath)
        }
        if let existing = try await LocalFileSystem.status(localPath), existing.kind == .other {
            return try await self.downloadInPlace(remotePath: remotePath, device: localPath, attributes: attributes, options: options)
        }
        let partPath = localPath + Self.partialDownloadSuffix
        var offset: UInt64 = 0
        if options.resume, let remoteSize = attributes.size {
            if let existing = try await LocalFileSystem.status(localPath), existing.kind == .file, existing.size == remoteSize {
                var verification: TransferVerification? = nil
                if options.verify {
                    verification = try await self.verify(
                        localPath: localPath, remotePath: remotePath, reportedPath: localPath,
                        requestsInFlight: options.requestsInFlight)
                }
                options.progress?(remoteSize, remoteSize)
                return FileTransferResult(
                    size: remoteSize, bytesTransferred: 0, resumedFrom: remoteSize, alreadyComplete: true,
                    verification: verification)
            }
            if let part = try await LocalFileSystem.status(partPath), part.kind == .file, part.size <= remoteSize {
                offset = part.size
            }
        }

        while true {
            let startedAt = offset
            let (received, size) = try await self.downloadPart(
                remotePath: remotePath, partPath: partPath, reportedPath: localPath, from: startedAt,
                attributes: &attributes, options: options)
            var verification: TransferVerification? = nil
            // A resumed file is always checked: by check-file where the server offers it, else by
            // reading it back (costly, but a partial that differs must not pass as complete).
            if options.verify || startedAt > 0 {
                do {
                    verification = try await self.verify(
                        localPath: partPath, remotePath: remotePath, reportedPath: localPath,
                        requestsInFlight: options.requestsInFlight)
                } catch let error as FileTransferError where startedAt > 0 {
                    guard case .verificationFailed = error else { throw error }
                    // The part kept from before is not what the server has now: start again.
                    self.logger.debug("\(localPath): resumed download differs, downloading it again: \(error)")
                    try await LocalFileSystem.removeFile(partPath)
                    offset = 0
                    continue
                }
            }
            if let times = attributes.accessModificationTime {
                try await LocalFileSystem.setTimes(partPath, access: Int64(times.atime), modification: Int64(times.mtime))
            }
            if options.preserveAttributes, let permissions = attributes.permissionBits {
                try await LocalFileSystem.setPermissions(partPath, permissions)
            }
            try await LocalFileSystem.renameItem(partPath, to: localPath)
            return FileTransferResult(
                size: size, bytesTransferred: received, resumedFrom: startedAt, alreadyComplete: false,
                verification: verification)
        }
    }

    /// A download to a device or another special file (`wharf get URL /dev/null`), as curl and
    /// OpenSSH's `sftp` do it: written in place, from byte 0. The usual temporary name and rename
    /// would replace the device with a regular file (as root, /dev/null itself); and there is no
    /// size to check, time to set or content to read back.
    private func downloadInPlace(
        remotePath: String, device: String, attributes: SFTPFileAttributes, options: TransferOptions
    ) async throws -> FileTransferResult {
        var attributes = attributes
        if options.verify {
            throw FileTransferError.cannotVerify(path: device)
        }
        let sink = try await LocalFile.open(device, mode: .write(truncate: false))
        do {
            let total = attributes.size ?? 0
            let progress = options.progress.map { report in
                { @Sendable (done: UInt64) in report(done, max(total, done)) }
            }
            let received = try await self.download(
                remotePath, to: sink, from: 0, requestsInFlight: options.requestsInFlight, progress: progress)
            try await sink.close()
            try await self.confirmDownloadedSize(received, remotePath: remotePath, reportedPath: device, attributes: &attributes)
            options.progress?(received, received)
            return FileTransferResult(
                size: received, bytesTransferred: received, resumedFrom: 0, alreadyComplete: false, verification: nil)
        } catch {
            try? await sink.close()
            throw error
        }
    }

    /// Checks the size of what was downloaded against the remote file's. When they differ the file
    /// may have changed while it was read: what matters is the size it has now, and its fresh
    /// attributes replace `attributes`; a size that differs from that too is an incomplete transfer.
    private func confirmDownloadedSize(
        _ size: UInt64, remotePath: String, reportedPath: String, attributes: inout SFTPFileAttributes
    ) async throws {
        guard let expected = attributes.size, expected != size else { return }
        let current = try await self.stat(remotePath)
        guard current.size == size else {
            throw FileTransferError.incomplete(path: reportedPath, expected: current.size ?? expected, received: size)
        }
        attributes = current
    }

    /// Downloads into the temporary file from `offset`, checks its size, flushes and closes it.
    /// `attributes` are refreshed when the remote file changed size meanwhile.
    private func downloadPart(
        remotePath: String, partPath: String, reportedPath: String, from offset: UInt64,
        attributes: inout SFTPFileAttributes, options: TransferOptions
    ) async throws -> (received: UInt64, size: UInt64) {
        // Created private-ish: readable by others only once complete and given the remote mode.
        let createMode: UInt32 = options.preserveAttributes ? ((attributes.permissionBits ?? 0o644) & 0o777) | 0o600 : 0o666
        let sink = try await LocalFile.open(partPath, mode: .write(truncate: offset == 0, permissions: createMode))
        do {
            if offset > 0 { try await sink.truncate(to: offset) }
            let total = attributes.size ?? 0
            let progress = options.progress.map { report in
                { @Sendable (done: UInt64) in report(offset + done, max(total, offset + done)) }
            }
            let received = try await self.download(
                remotePath, to: sink, from: offset, requestsInFlight: options.requestsInFlight, progress: progress)
            let size = try await sink.size()
            try await self.confirmDownloadedSize(size, remotePath: remotePath, reportedPath: reportedPath, attributes: &attributes)
            try await sink.synchronize()
            try await sink.close()
            options.progress?(size, size)
            return (received, size)
        } catch {
            try? await sink.close()
            throw error
        }
    }

    /// Uploads one local file to `remotePath`, created when missing, then gives it the local
    /// modification time (and permissions unless `preserveAttributes` is off) and checks its size.
    /// It is written in place (as OpenSSH's `sftp` does) or, with `uploadsToTemporaryName`, to
    /// `remotePath + ".wharf-part"`, renamed over `remotePath` once size and verification passed.
    ///
    /// With `resume`, a remote file (or temporary file) not larger than the local one is continued
    /// from its size (then verified, by the server's hash or by reading it back; a mismatch starts
    /// once more from byte 0); a larger one is rewritten.
    @discardableResult
    public func uploadFile(
        localPath: String, remotePath: String, options: TransferOptions = TransferOptions()
    ) async throws -> FileTransferResult {
        guard let status = try await LocalFileSystem.status(localPath) else {
            throw LocalFileError(path: localPath, operation: "stat", errno: ENOENT)
        }
        guard status.kind == .file else { throw FileTransferError.notARegularFile(path: localPath) }
        let localSize = status.size
        let finalPath = remotePath
        let remotePath = options.uploadsToTemporaryName ? finalPath + Self.partialDownloadSuffix : finalPath
        var offset: UInt64 = 0
        if options.resume {
            do {
                let remote = try await self.stat(remotePath)
                if let size = remote.size, size <= localSize, remote.permissions.map({ FileKind(mode: $0) == .file }) ?? true {
                    offset = size
                }
            } catch where RemoteFailure.isNoSuchFile(error) {
                offset = 0
            }
        }

        while true {
            let startedAt = offset
            let source = try await LocalFile.open(localPath, mode: .read)
            let sent: UInt64
            do {
                let progress = options.progress.map { report in
                    { @Sendable (done: UInt64) in report(startedAt + done, max(localSize, startedAt + done)) }
                }
                sent = try await self.upload(
                    from: source, to: remotePath, at: startedAt, truncate: startedAt == 0,
                    permissions: options.preserveAttributes ? status.mode & 0o777 : nil,
                    requestsInFlight: options.requestsInFlight, progress: progress)
            } catch {
                try? await source.close()
                throw error
            }
            try await source.close()
            options.progress?(startedAt + sent, localSize)

            var changes = SFTPFileAttributes(
                accessModificationTime: (UInt32(clamping: status.accessTime), UInt32(clamping: status.modificationTime)))
            if options.preserveAttributes { changes.permissions = status.mode & 0o7777 }
            do {
                try await self.setAttributes(remotePath, changes)
            } catch where RemoteFailure.isRefusal(error) {
                // The data is there and complete; a server that keeps its own times or modes
                // (FTP servers without MFMT or SITE CHMOD) is not a failed upload.
                self.logger.notice("\(finalPath): times or permissions not set: \(error)")
            }
            if let size = try await self.stat(remotePath).size, size != localSize {
                throw FileTransferError.incomplete(path: finalPath, expected: localSize, received: size)
            }

            var verification: TransferVerification? = nil
            // A resumed file is always checked: by check-file where the server offers it, else by
            // reading it back (costly, but a partial that differs must not pass as complete).
            if options.verify || startedAt > 0 {
                do {
                    verification = try await self.verify(
                        localPath: localPath, remotePath: remotePath, reportedPath: finalPath,
                        requestsInFlight: options.requestsInFlight)
                } catch let error as FileTransferError where startedAt > 0 {
                    guard case .verificationFailed = error else { throw error }
                    self.logger.debug("\(remotePath): resumed upload differs, uploading it again: \(error)")
                    offset = 0
                    continue
                }
            }
            if remotePath != finalPath {
                try await self.rename(from: remotePath, to: finalPath, overwriting: true)
            }
            return FileTransferResult(
                size: localSize, bytesTransferred: sent, resumedFrom: startedAt, alreadyComplete: false,
                verification: verification)
        }
    }
}
