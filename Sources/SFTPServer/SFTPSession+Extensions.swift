import NIOCore
import SFTPProtocol
import WharfCore

extension SFTPSession {
    /// Dispatch of the EXTENDED requests; see `SFTPOperation.all` for their names and gates.
    func perform(_ request: SFTPExtendedRequest, id: UInt32) async throws -> SFTPResponse {
        switch request {
        case .posixRename(let oldPath, let newPath):
            try await self.storage.rename(from: oldPath, to: newPath, replacing: true)
            self.logger.info("posix-rename old \"\(oldPath)\" new \"\(newPath)\"")
            return .status(id: id, code: .ok, message: "Success")

        case .statvfs(let path):
            return .extendedReply(id: id, payload: Self.encode(try await self.storage.fileSystemStatistics(at: path)))

        case .fstatvfs(let handle):
            let file = try self.handles.file(handle)
            return .extendedReply(id: id, payload: Self.encode(try await file.file.fileSystemStatistics()))

        case .hardlink(let oldPath, let newPath):
            try await self.storage.createHardLink(at: newPath, to: oldPath)
            self.logger.info("hardlink old \"\(oldPath)\" new \"\(newPath)\"")
            return .status(id: id, code: .ok, message: "Success")

        case .fsync(let handle):
            try await self.handles.file(handle).file.synchronize()
            return .status(id: id, code: .ok, message: "Success")

        case .lsetstat(let path, let attributes):
            try await self.storage.setAttributes(at: path, AttributeChanges(attributes), followingSymlinks: false)
            self.logger.info("lset \"\(path)\" \(Self.describe(attributes))")
            return .status(id: id, code: .ok, message: "Success")

        case .limits:
            var payload = ByteBuffer()
            payload.writeInteger(UInt64(self.configuration.maximumPacketLength))
            payload.writeInteger(UInt64(self.configuration.maximumReadLength))
            payload.writeInteger(UInt64(self.configuration.maximumWriteLength))
            payload.writeInteger(UInt64(self.configuration.maximumOpenHandles))
            return .extendedReply(id: id, payload: payload)

        case .expandPath(let path):
            let expanded = try self.expandTilde(path)
            let resolved = try await self.storage.canonicalPath(expanded.isEmpty ? "." : expanded)
            return .name(id: id, names: [SFTPName(filename: resolved, longname: resolved, attributes: .empty)])

        case .homeDirectory(let username):
            if let own = self.configuration.userName, !username.isEmpty, username != own {
                throw StorageError(.notFound, "No such user")
            }
            let home = try await self.storage.canonicalPath(self.storage.homeDirectory)
            return .name(id: id, names: [SFTPName(filename: home, longname: home, attributes: .empty)])

        case .usersGroupsByID(let uids, let gids):
            let names = await self.storage.accountNames(userIDs: uids, groupIDs: gids)
            var users = ByteBuffer()
            for name in names.users { users.writeSFTPString(name ?? "") }
            var groups = ByteBuffer()
            for name in names.groups { groups.writeSFTPString(name ?? "") }
            var payload = ByteBuffer()
            payload.writeSFTPString(users)
            payload.writeSFTPString(groups)
            return .extendedReply(id: id, payload: payload)

        case .copyData(let readHandle, let readOffset, let readLength, let writeHandle, let writeOffset):
            try await self.copyData(
                from: readHandle, at: readOffset, length: readLength, to: writeHandle, at: writeOffset)
            return .status(id: id, code: .ok, message: "Success")

        case .checkFile(let target, let algorithms, let start, let length, let blockSize):
            return try await self.checkFile(
                id: id, target: target, algorithms: algorithms, start: start, length: length, blockSize: blockSize)
        }
    }

    /// "~" and "~/x" name the home; "~user" only for the session's own user, as a jail has no others.
    private func expandTilde(_ path: String) throws -> String {
        guard path.hasPrefix("~") else { return path }
        let home = self.storage.homeDirectory
        let rest = path.dropFirst()
        if rest.isEmpty { return home }
        if rest.hasPrefix("/") { return home + rest }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let user = String(rest[..<slash])
        guard user == self.configuration.userName else { throw StorageError(.notFound, "No such user \(user)") }
        return home + rest[slash...]
    }

    private func copyData(
        from readHandle: ByteBuffer, at readOffset: UInt64, length: UInt64, to writeHandle: ByteBuffer,
        at writeOffset: UInt64
    ) async throws {
        let source = try self.handles.file(readHandle)
        let destination = try self.handles.file(writeHandle)
        guard source.options.contains(.read) else { throw SFTPFailure.permissionDenied("Source not opened for reading") }
        guard destination.options.contains(.write) || destination.options.contains(.append) else {
            throw SFTPFailure.permissionDenied("Destination not opened for writing")
        }
        // Offsets come from the client: do the arithmetic in a range that cannot overflow.
        let limit = UInt64(Int64.max)
        guard readOffset <= limit, writeOffset <= limit, length <= limit else {
            throw SFTPFailure.failure("Offset or length out of range")
        }
        if source === destination, length == 0 || (readOffset < writeOffset + length && writeOffset < readOffset + length) {
            throw SFTPFailure.failure("Overlapping copy within one file")
        }
        var copied: UInt64 = 0
        while length == 0 || copied < length {
            let chunk = length == 0 ? self.configuration.maximumReadLength : Int(min(UInt64(self.configuration.maximumReadLength), length - copied))
            guard readOffset + copied <= limit - UInt64(chunk) else { break }
            let data = try await source.file.read(at: readOffset + copied, length: chunk)
            if data.readableBytes == 0 { break }
            try await destination.file.write(data, at: writeOffset + copied)
            copied += UInt64(data.readableBytes)
        }
        source.bytesRead.add(copied, ordering: .relaxed)
        destination.bytesWritten.add(copied, ordering: .relaxed)
        self.logger.info("copy-data \"\(source.file.path)\" to \"\(destination.file.path)\" bytes \(copied)")
    }

    private func checkFile(
        id: UInt32, target: SFTPExtendedRequest.CheckFileTarget, algorithms: [String], start: UInt64, length: UInt64,
        blockSize: UInt32
    ) async throws -> SFTPResponse {
        guard let algorithm = CheckFileHasher.choose(from: algorithms) else {
            throw SFTPFailure.unsupported("No supported hash algorithm in \(algorithms.joined(separator: ","))")
        }
        // The draft sets a minimum block size so that a client cannot make us hash byte by byte.
        guard blockSize == 0 || blockSize >= 256 else { throw SFTPFailure.failure("Block size below 256") }
        let file: any StorageFile
        var openedHere = false
        switch target {
        case .handle(let handle):
            let open = try self.handles.file(handle)
            guard open.options.contains(.read) else { throw SFTPFailure.permissionDenied("File not opened for reading") }
            file = open.file
        case .path(let path):
            file = try await self.storage.openFile(at: path, options: .read, permissions: nil)
            openedHere = true
        }
        do {
            // Hashing is CPU work: off the event loop the session may be running on.
            let hashes = try await withTaskExecutorPreference(globalConcurrentExecutor) {
                try await self.hash(file: file, algorithm: algorithm, start: start, length: length, blockSize: blockSize)
            }
            if openedHere { try await file.close() }
            var payload = ByteBuffer()
            payload.writeSFTPString("check-file")
            payload.writeSFTPString(algorithm)
            payload.writeBytes(hashes)
            return .extendedReply(id: id, payload: payload)
        } catch {
            if openedHere { try? await file.close() }
            throw error
        }
    }

    private func hash(
        file: any StorageFile, algorithm: String, start: UInt64, length: UInt64, blockSize: UInt32
    ) async throws -> [UInt8] {
        let end: UInt64
        if length == 0 {
            end = try await file.attributes().size
        } else {
            let sum = start.addingReportingOverflow(length)
            end = sum.overflow ? .max : sum.partialValue
        }
        let block = blockSize == 0 ? (end > start ? end - start : 0) : UInt64(blockSize)
        var output: [UInt8] = []
        var blockStart = start
        repeat {
            guard var digest = CheckFileHasher.Digest(algorithm: algorithm) else {
                throw SFTPFailure.unsupported("Unsupported hash \(algorithm)")
            }
            let sum = blockStart.addingReportingOverflow(block)
            let blockEnd = sum.overflow ? end : min(end, sum.partialValue)
            var offset = blockStart
            while offset < blockEnd {
                let chunk = Int(min(UInt64(self.configuration.maximumReadLength), blockEnd - offset))
                let data = try await file.read(at: offset, length: chunk)
                if data.readableBytes == 0 { break }
                digest.update(data)
                offset += UInt64(data.readableBytes)
            }
            output += digest.finalize()
            blockStart = blockEnd
            if offset < blockEnd { break }  // end of file before the requested range ended
        } while blockStart < end
        return output
    }

    static func encode(_ statistics: FileSystemStatistics) -> ByteBuffer {
        var payload = ByteBuffer()
        for value in [
            statistics.blockSize, statistics.fragmentSize, statistics.blocks, statistics.freeBlocks,
            statistics.availableBlocks, statistics.files, statistics.freeFiles, statistics.availableFiles,
            statistics.fileSystemID, statistics.flags, statistics.maximumNameLength,
        ] {
            payload.writeInteger(value)
        }
        return payload
    }
}
