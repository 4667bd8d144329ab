import Crypto
import FTPProtocol
import NIOCore
import WharfCore

extension FTPSession {
    /// Runs a storage call; its error becomes the reply for `path`.
    func onStorage<T>(
        _ path: String, _ body: (any Storage) async throws -> T
    ) async throws(FTPFailure) -> T {
        let storage = try self.storage
        do {
            return try await body(storage)
        } catch let error as StorageError {
            throw .storage(error, path: path)
        } catch {
            throw .storage(StorageError(.failure, "\(error)"), path: path)
        }
    }

    func changeDirectory(_ argument: String) async throws(FTPFailure) -> CommandResult {
        let path = self.resolve(argument)
        let attributes = try await self.onStorage(path) { try await $0.attributes(at: path, followingSymlinks: true) }
        guard attributes.type == .directory else { throw .reply(550, "\(path): Not a directory.") }
        self.workingDirectory = VirtualPath(path)
        return .reply(250, "Directory changed to \(path).")
    }

    func makeDirectory(_ argument: String) async throws(FTPFailure) -> CommandResult {
        let path = self.resolve(argument)
        try await self.onStorage(path) { try await $0.makeDirectory(at: path, permissions: nil) }
        return .reply(FTPReply.pathname(path, "created."))
    }

    func removeDirectory(_ argument: String) async throws(FTPFailure) -> CommandResult {
        let path = self.resolve(argument)
        guard path != "/" else { throw .reply(550, "Cannot remove the root directory.") }
        try await self.onStorage(path) { try await $0.removeDirectory(at: path) }
        return .reply(250, "Directory removed.")
    }

    func deleteFile(_ argument: String) async throws(FTPFailure) -> CommandResult {
        let path = self.resolve(argument)
        let attributes = try await self.onStorage(path) { try await $0.attributes(at: path, followingSymlinks: false) }
        guard attributes.type != .directory else { throw .reply(550, "\(path): Is a directory; use RMD.") }
        try await self.onStorage(path) { try await $0.removeFile(at: path) }
        return .reply(250, "File deleted.")
    }

    func renameFrom(_ argument: String) async throws(FTPFailure) -> CommandResult {
        let path = self.resolve(argument)
        guard path != "/" else { throw .reply(550, "Cannot rename the root directory.") }
        _ = try await self.onStorage(path) { try await $0.attributes(at: path, followingSymlinks: false) }
        self.renameSource = path
        return .reply(350, "Ready for RNTO.")
    }

    func renameTo(_ argument: String) async throws(FTPFailure) -> CommandResult {
        guard let source = self.renameSource else { throw .reply(503, "Bad sequence of commands: send RNFR first.") }
        self.renameSource = nil
        let destination = self.resolve(argument)
        guard destination != "/" else { throw .reply(553, "Cannot rename onto the root directory.") }
        // FTP clients expect rename(2): an existing file at the destination is replaced.
        try await self.onStorage(destination) { try await $0.rename(from: source, to: destination, replacing: true) }
        return .reply(250, "Rename successful.")
    }

    /// A regular file's attributes; directories and other types are refused with 550.
    func regularFileAttributes(_ path: String) async throws(FTPFailure) -> FileAttributes {
        let attributes = try await self.onStorage(path) { try await $0.attributes(at: path, followingSymlinks: true) }
        guard attributes.type == .regular else { throw .reply(550, "\(path): Not a regular file.") }
        return attributes
    }

    func size(_ argument: String) async throws(FTPFailure) -> CommandResult {
        let attributes = try await self.regularFileAttributes(self.resolve(argument))
        return .reply(FTPReply.size(attributes.size))
    }

    func modificationTime(_ argument: String) async throws(FTPFailure) -> CommandResult {
        let path = self.resolve(argument)
        let attributes = try await self.onStorage(path) { try await $0.attributes(at: path, followingSymlinks: true) }
        return .reply(FTPReply.modificationTime(FTPTimestamp(secondsSinceEpoch: attributes.modificationTime)))
    }

    func setModificationTime(_ argument: String) async throws(FTPFailure) -> CommandResult {
        let parsed: FTPModifyTimeArgument
        do {
            parsed = try FTPModifyTimeArgument(parsing: argument)
        } catch {
            throw .reply(501, "MFMT wants YYYYMMDDHHMMSS path: \(error).")
        }
        let path = self.resolve(parsed.path)
        let changes = AttributeChanges(modificationTime: parsed.time.secondsSinceEpoch)
        try await self.onStorage(path) { try await $0.setAttributes(at: path, changes, followingSymlinks: true) }
        return .reply(213, "Modify=\(FTPTimestamp(secondsSinceEpoch: parsed.time.secondsSinceEpoch)); \(parsed.path)")
    }

    /// SITE CHMOD and SITE HELP, from the SITE part of the command table.
    func site(_ argument: String) async throws(FTPFailure) -> CommandResult {
        let space = argument.firstIndex(of: " ")
        let verb = String(argument[..<(space ?? argument.endIndex)])
        let rest = space.map { String(argument[argument.index(after: $0)...]) } ?? ""
        guard let spec = FTPCommandSpec.lookupSite(verb) else {
            return .reply(500, "Unknown SITE command \(verb); try SITE HELP.")
        }
        guard spec.argument.accepts(rest) else { return .reply(501, spec.help) }
        if !spec.permission.isEmpty, let login = self.loggedIn, !login.allowed.isSuperset(of: spec.permission) {
            return .reply(550, "Permission denied.")
        }
        switch spec.name {
        case "CHMOD":
            let parts = rest.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, let mode = UInt32(parts[0], radix: 8), mode <= 0o7777 else {
                return .reply(501, "Syntax: SITE CHMOD <octal mode> <path>.")
            }
            let path = self.resolve(String(parts[1]))
            try await self.onStorage(path) {
                try await $0.setAttributes(at: path, AttributeChanges(permissions: mode), followingSymlinks: true)
            }
            return .reply(200, "SITE CHMOD command successful.")
        default:
            let reply = FTPCommandSpec.helpReply(rest.isEmpty ? nil : rest, commands: FTPCommandSpec.siteCommands)
            return .reply(reply)
        }
    }

    /// HASH (draft-bryan-ftpext-hash): `213 SHA-256 0-SIZE hex path`.
    func hash(_ argument: String) async throws(FTPFailure) -> CommandResult {
        let path = self.resolve(argument)
        _ = try await self.regularFileAttributes(path)
        let algorithm = self.features.selectedHash
        let file = try await self.onStorage(path) { try await $0.openFile(at: path, options: .read, permissions: nil) }
        let chunkSize = self.configuration.transferChunkSize
        let digest: String
        let offset: UInt64
        do throws(StorageError) {
            // Hashing is CPU work: off the event loop the session runs on.
            (digest, offset) = try await withTaskExecutorPreference(globalConcurrentExecutor) {
                () async throws(StorageError) -> (String, UInt64) in
                try await Self.digest(of: file, algorithm: algorithm, chunkSize: chunkSize)
            }
            try await file.close()
        } catch {
            try? await file.close()
            throw .storage(error, path: path)
        }
        return .reply(213, "\(algorithm) 0-\(offset) \(digest) \(argument)")
    }

    /// The hex digest of a whole file and its length.
    private static func digest(
        of file: any StorageFile, algorithm: String, chunkSize: Int
    ) async throws(StorageError) -> (String, UInt64) {
        var sha256 = SHA256()
        var sha1 = Insecure.SHA1()
        var offset: UInt64 = 0
        while true {
            let chunk = try await file.read(at: offset, length: chunkSize)
            if chunk.readableBytes == 0 { break }
            offset += UInt64(chunk.readableBytes)
            chunk.withUnsafeReadableBytes { bytes in
                if algorithm == "SHA-1" { sha1.update(bufferPointer: bytes) } else { sha256.update(bufferPointer: bytes) }
            }
        }
        return (algorithm == "SHA-1" ? hexadecimal(sha1.finalize()) : hexadecimal(sha256.finalize()), offset)
    }

    func machineListSingle(_ argument: String) async throws(FTPFailure) -> CommandResult {
        let path = self.resolve(argument.isEmpty ? "." : argument)
        let attributes = try await self.onStorage(path) { try await $0.attributes(at: path, followingSymlinks: true) }
        let entry = self.listEntry(name: path, attributes: attributes, owner: nil, group: nil, symlinkTarget: nil)
        let allowed = self.loggedIn?.allowed ?? .readOnly
        return .reply(FTPListing.mlstReply(entry, pathname: path, facts: self.features.selectedFacts, allowed: allowed))
    }

    func setType(_ argument: String) -> CommandResult {
        let words = argument.uppercased().split(separator: " ")
        switch words.first {
        case "I":
            self.transferType = .binary
            return .reply(200, "Type set to I.")
        case "L" where words.count == 2 && words[1] == "8":
            self.transferType = .binary
            return .reply(200, "Type set to L 8.")
        case "A" where words.count == 1 || words[1] == "N":
            self.transferType = .ascii
            return .reply(200, "Type set to A.")
        default:
            return .reply(504, "Type \(argument) not supported; use A or I.")
        }
    }

    func restart(_ argument: String) -> CommandResult {
        guard let offset = UInt64(argument) else { return .reply(501, "REST takes a byte offset.") }
        self.restartOffset = offset
        return .reply(350, "Restarting at \(offset). Send STOR or RETR to start the transfer.")
    }

    func options(_ argument: String) -> CommandResult {
        let space = argument.firstIndex(of: " ")
        let name = argument[..<(space ?? argument.endIndex)].uppercased()
        let value = space.map { String(argument[argument.index(after: $0)...]) }
        switch name {
        case "UTF8", "UTF-8":
            if let value, value.uppercased() == "OFF" { return .reply(504, "UTF-8 cannot be turned off.") }
            return .reply(200, "Always in UTF8 mode.")
        case "MLST":
            self.features.selectedFacts = FTPFact.parseSelection(value)
            let list = FTPFact.allCases.filter { self.features.selectedFacts.contains($0) }.map { $0.rawValue + ";" }
            return .reply(200, "MLST OPTS \(list.joined())")
        case "HASH":
            guard let value, !value.isEmpty else { return .reply(200, self.features.selectedHash) }
            guard let algorithm = self.features.hashAlgorithms.first(where: { $0 == value.uppercased() }) else {
                return .reply(501, "Unknown hash algorithm \(value); use \(self.features.hashAlgorithms.joined(separator: " or ")).")
            }
            self.features.selectedHash = algorithm
            return .reply(200, algorithm)
        default:
            return .reply(501, "Unknown option \(name).")
        }
    }

    /// STAT: without an argument the session's status (211); with a path a listing on the control
    /// connection (213).
    func status(_ argument: String) async throws(FTPFailure) -> CommandResult {
        guard argument.isEmpty else {
            let lines = try await self.listingLines(argument, format: .long)
            return .reply(FTPReply(code: 213, lines: ["Status of \(argument):"] + lines + ["End of status."]))
        }
        var lines = ["Wharf FTP server status:", "Connected from \(self.peerIP)"]
        if let login = self.loggedIn {
            lines.append("Logged in as \(login.user.name)\(login.anonymous ? " (anonymous, read-only)" : "")")
        } else {
            lines.append("Not logged in")
        }
        lines.append("TYPE: \(self.transferType == .binary ? "BINARY" : "ASCII"), MODE: Stream, STRUcture: File")
        lines.append("Control connection: \(self.tlsActive ? "TLS" : "plain"); data connections: \(self.privateData ? "TLS (PROT P)" : "plain (PROT C)")")
        switch self.dataPort {
        case .none: lines.append("No data connection set up")
        case .passive(let listener): lines.append("Passive mode, port \(listener.port)")
        case .active(let address): lines.append("Active mode to \(address.ipAddress ?? "?"):\(address.port ?? 0)")
        }
        lines.append("End of status.")
        return .reply(FTPReply(code: 211, lines: lines))
    }
}

/// Lower-case hex of a digest.
private func hexadecimal(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef")
    var text = ""
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0F)])
    }
    return text
}
