import NIOCore
import SFTPProtocol
import WharfCore

extension SFTPSession {
    /// Dispatch: one case per request. Errors are thrown and mapped by `respond(to:)`.
    func perform(_ request: SFTPRequest) async throws -> SFTPResponse {
        switch request {
        case .initialize:
            throw SFTPFailure.badMessage("INIT is not a request")

        case .open(let id, let path, let flags, let attributes):
            let options = OpenOptions(flags)
            if options.writes, self.configuration.readOnly {
                throw SFTPFailure.permissionDenied("Read-only session")
            }
            let file = try await self.storage.openFile(
                at: path, options: options, permissions: attributes.permissions.map { $0 & 0o7777 })
            guard let handle = self.handles.insert(.file(OpenFile(file: file, options: options))) else {
                try? await file.close()
                throw SFTPFailure.failure("Too many open handles (limit \(self.handles.limit))")
            }
            self.logger.info("open \"\(path)\" flags \(Self.describe(flags)) mode 0\(String(attributes.permissions ?? 0o666, radix: 8))")
            return .handle(id: id, handle: ByteBuffer(string: handle))

        case .close(let id, let handle):
            guard let open = self.handles.remove(handle) else { throw SFTPFailure.invalidHandle }
            if let failure = await self.close(open) { throw failure }
            return .status(id: id, code: .ok, message: "Success")

        case .read(let id, let handle, let offset, let length):
            let file = try self.handles.file(handle)
            let data = try await file.file.read(at: offset, length: min(Int(length), self.configuration.maximumReadLength))
            guard data.readableBytes > 0 else { throw SFTPFailure.endOfFile }
            file.bytesRead.add(UInt64(data.readableBytes), ordering: .relaxed)
            return .data(id: id, data: SFTPPayload(data))

        case .write(let id, let handle, let offset, let data):
            let file = try self.handles.file(handle)
            guard file.options.contains(.write) || file.options.contains(.append) else {
                throw SFTPFailure.permissionDenied("File not opened for writing")
            }
            try await file.file.write(contentsOf: data.pieces, at: offset)
            file.bytesWritten.add(UInt64(data.readableBytes), ordering: .relaxed)
            return .status(id: id, code: .ok, message: "Success")

        case .lstat(let id, let path):
            return .attributes(id: id, attributes: .init(try await self.storage.attributes(at: path, followingSymlinks: false)))

        case .stat(let id, let path):
            return .attributes(id: id, attributes: .init(try await self.storage.attributes(at: path, followingSymlinks: true)))

        case .fstat(let id, let handle):
            return .attributes(id: id, attributes: .init(try await self.handles.file(handle).file.attributes()))

        case .setstat(let id, let path, let attributes):
            try await self.storage.setAttributes(at: path, AttributeChanges(attributes), followingSymlinks: true)
            self.logger.info("set \"\(path)\" \(Self.describe(attributes))")
            return .status(id: id, code: .ok, message: "Success")

        case .fsetstat(let id, let handle, let attributes):
            let file = try self.handles.file(handle)
            try await file.file.setAttributes(AttributeChanges(attributes))
            self.logger.info("set \"\(file.file.path)\" \(Self.describe(attributes))")
            return .status(id: id, code: .ok, message: "Success")

        case .opendir(let id, let path):
            let directory = try await self.storage.openDirectory(at: path)
            guard let handle = self.handles.insert(.directory(directory)) else {
                await directory.close()
                throw SFTPFailure.failure("Too many open handles (limit \(self.handles.limit))")
            }
            self.logger.debug("opendir \"\(path)\"")
            return .handle(id: id, handle: ByteBuffer(string: handle))

        case .readdir(let id, let handle):
            let directory = try self.handles.directory(handle)
            let entries = try await directory.nextEntries(maximumCount: self.configuration.directoryBatchSize)
            guard !entries.isEmpty else { throw SFTPFailure.endOfFile }
            let names = entries.map { entry in
                SFTPName(
                    filename: entry.name,
                    longname: LongName.format(name: entry.name, attributes: entry.attributes),
                    attributes: .init(entry.attributes))
            }
            return .name(id: id, names: names)

        case .remove(let id, let path):
            try await self.storage.removeFile(at: path)
            self.logger.info("remove name \"\(path)\"")
            return .status(id: id, code: .ok, message: "Success")

        case .mkdir(let id, let path, let attributes):
            try await self.storage.makeDirectory(at: path, permissions: attributes.permissions.map { $0 & 0o7777 })
            self.logger.info("mkdir name \"\(path)\" mode 0\(String(attributes.permissions ?? 0o777, radix: 8))")
            return .status(id: id, code: .ok, message: "Success")

        case .rmdir(let id, let path):
            try await self.storage.removeDirectory(at: path)
            self.logger.info("rmdir name \"\(path)\"")
            return .status(id: id, code: .ok, message: "Success")

        case .realpath(let id, let path):
            let resolved = try await self.storage.canonicalPath(path.isEmpty ? "." : path)
            return .name(id: id, names: [SFTPName(filename: resolved, longname: resolved, attributes: .empty)])

        case .rename(let id, let oldPath, let newPath):
            try await self.storage.rename(from: oldPath, to: newPath, replacing: false)
            self.logger.info("rename old \"\(oldPath)\" new \"\(newPath)\"")
            return .status(id: id, code: .ok, message: "Success")

        case .readlink(let id, let path):
            let target = try await self.storage.readSymbolicLink(at: path)
            return .name(id: id, names: [SFTPName(filename: target, longname: target, attributes: .empty)])

        case .symlink(let id, let targetPath, let linkPath):
            try await self.storage.createSymbolicLink(at: linkPath, pointingTo: targetPath)
            self.logger.info("symlink old \"\(targetPath)\" new \"\(linkPath)\"")
            return .status(id: id, code: .ok, message: "Success")

        case .extended(let id, let name, let payload):
            guard let extended = try SFTPExtendedRequest(name: name, payload: payload) else {
                throw SFTPFailure.unsupported("Unsupported extension \(name)")
            }
            return try await self.perform(extended, id: id)
        }
    }

    static func describe(_ flags: SFTPOpenFlags) -> String {
        let names: [(SFTPOpenFlags, String)] = [
            (.read, "READ"), (.write, "WRITE"), (.append, "APPEND"), (.create, "CREATE"), (.truncate, "TRUNCATE"),
            (.exclusive, "EXCL"),
        ]
        return names.filter { flags.contains($0.0) }.map(\.1).joined(separator: ",")
    }

    static func describe(_ attributes: SFTPFileAttributes) -> String {
        var parts: [String] = []
        if let size = attributes.size { parts.append("size \(size)") }
        if let permissions = attributes.permissions { parts.append("mode 0\(String(permissions & 0o7777, radix: 8))") }
        if let times = attributes.accessModificationTime { parts.append("atime \(times.atime) mtime \(times.mtime)") }
        if let ids = attributes.uidgid { parts.append("owner \(ids.uid) group \(ids.gid)") }
        return parts.joined(separator: " ")
    }
}
