import FTPProtocol
import Logging
import NIOCore
import WharfCore

extension FTPSession {
    enum StoreMode {
        /// STOR: written under a temporary name and renamed on success (unless resuming with REST).
        case replace
        /// APPE: appended in place.
        case append
        /// STOU: a new file under a name the server picks.
        case unique
    }

    /// Refuses a transfer without a data port (425) or without PROT P where TLS is required (521),
    /// before any file is opened.
    func checkDataPortReady() throws(FTPFailure) {
        if self.configuration.tlsPolicy == .required && !self.privateData {
            throw .reply(521, "Data connections must be encrypted: send PBSZ 0 and PROT P.")
        }
        if case .none = self.dataPort {
            throw .reply(425, "Use PASV, EPSV, PORT or EPRT first.")
        }
    }

    func retrieve(_ argument: String) async throws(FTPFailure) -> CommandResult {
        let path = self.resolve(argument)
        try self.checkDataPortReady()
        let attributes = try await self.regularFileAttributes(path)
        let offset = self.restartOffset
        self.restartOffset = 0
        guard offset <= attributes.size else {
            throw .reply(554, "REST offset \(offset) is past the end of the file (\(attributes.size) bytes).")
        }
        let file = try await self.onStorage(path) { try await $0.openFile(at: path, options: .read, permissions: nil) }
        let mode = self.transferType == .binary ? "BINARY" : "ASCII"
        await self.startTransfer(
            verb: "RETR", path: path, job: .download(file: file, offset: offset),
            preliminary: FTPReply(code: 150, "Opening \(mode) mode data connection for \(argument) (\(attributes.size) bytes).")
        ) { result in
            try? await file.close()
            return result
        }
        return .done
    }

    func store(_ argument: String, mode: StoreMode) async throws(FTPFailure) -> CommandResult {
        try self.checkDataPortReady()
        let offset = self.restartOffset
        self.restartOffset = 0
        switch mode {
        case .replace:
            let path = self.resolve(argument)
            let existing = try? await self.storage.attributes(at: path, followingSymlinks: true)
            if existing?.type == .directory { throw .reply(550, "\(path): Is a directory.") }
            if offset > 0 {
                // REST + STOR resumes in place: what is there is the client's earlier partial upload.
                guard let existing, offset <= existing.size else {
                    throw .reply(554, "REST offset \(offset) is past the end of the file.")
                }
                return try await self.upload(to: path, temporary: nil, offset: offset, verb: "STOR", argument: argument)
            }
            // Readers never see a half-written file under the final name, and an interrupted upload
            // leaves the previous version in place.
            let virtual = VirtualPath(path)
            let temporary = virtual.parent.appending(Self.temporaryName(for: virtual.name)).description
            return try await self.upload(to: path, temporary: temporary, offset: 0, verb: "STOR", argument: argument)
        case .append:
            let path = self.resolve(argument)
            let existing = try? await self.storage.attributes(at: path, followingSymlinks: true)
            if existing?.type == .directory { throw .reply(550, "\(path): Is a directory.") }
            return try await self.upload(to: path, temporary: nil, offset: existing?.size ?? 0, verb: "APPE", argument: argument)
        case .unique:
            return try await self.uploadUnique(argument)
        }
    }

    /// `.wharf-upload-<random>-name`, cut so the whole stays within NAME_MAX.
    static func temporaryName(for name: String) -> String {
        let prefix = ".wharf-upload-" + String(UInt32.random(in: 0...UInt32.max), radix: 16) + "-"
        var kept = name
        while prefix.utf8.count + kept.utf8.count > 255 { kept.removeLast() }
        return prefix + kept
    }

    private func upload(
        to path: String, temporary: String?, offset: UInt64, verb: String, argument: String
    ) async throws(FTPFailure) -> CommandResult {
        let storage = try self.storage
        let file: any StorageFile
        if let temporary {
            file = try await self.onStorage(path) {
                try await $0.openFile(at: temporary, options: [.write, .create, .exclusive], permissions: nil)
            }
        } else {
            file = try await self.onStorage(path) {
                try await $0.openFile(at: path, options: [.write, .create], permissions: nil)
            }
        }
        let mode = self.transferType == .binary ? "BINARY" : "ASCII"
        let logger = self.logger.withSessionMetadata
        await self.startTransfer(
            verb: verb, path: path, job: .upload(file: file, offset: offset),
            preliminary: FTPReply(code: 150, "Opening \(mode) mode data connection for \(argument).")
        ) { result in
            await Self.finishUpload(
                result, file: file, storage: storage, writtenAt: temporary ?? path, finalPath: temporary.map { _ in path },
                removeOnFailure: temporary != nil, logger: logger)
        }
        return .done
    }

    /// After an upload's bytes: closes the file; on success moves it from `writtenAt` to
    /// `finalPath` (when it went to a temporary name); on failure removes what was written when
    /// `removeOnFailure` (a temporary or a new STOU file, never a file being resumed or appended).
    private static func finishUpload(
        _ result: FTPTransferResult, file: any StorageFile, storage: any Storage, writtenAt: String,
        finalPath: String?, removeOnFailure: Bool, logger: Logger
    ) async -> FTPTransferResult {
        var result = result
        do throws(StorageError) {
            if case .completed = result, let finalPath {
                try await storage.closeAndRename(file, from: writtenAt, to: finalPath)
            } else {
                try await file.close()
            }
        } catch {
            if case .completed = result { result = .storageFailed(error) }
        }
        if case .completed = result { return result }
        guard removeOnFailure else { return result }
        do {
            try await storage.removeFile(at: writtenAt)
        } catch {
            logger.error("cannot remove the partial upload \(writtenAt): \(error)")
        }
        return result
    }

    /// STOU: `name`, `name.1`, `name.2`, … (or `wharf-upload…`), created exclusively.
    private func uploadUnique(_ argument: String) async throws(FTPFailure) -> CommandResult {
        let storage = try self.storage
        let base = self.resolve(argument.isEmpty ? "wharf-upload" : argument)
        var created: (path: String, file: any StorageFile)? = nil
        for attempt in 0..<100 {
            let candidate = attempt == 0 ? base : "\(base).\(attempt)"
            do {
                let file = try await storage.openFile(
                    at: candidate, options: [.write, .create, .exclusive], permissions: nil)
                created = (candidate, file)
                break
            } catch where error.kind == .alreadyExists {
                continue
            } catch {
                throw .storage(error, path: candidate)
            }
        }
        guard let (path, file) = created else { throw .reply(553, "No unique name found for \(base).") }
        let logger = self.logger.withSessionMetadata
        await self.startTransfer(
            verb: "STOU", path: path, job: .upload(file: file, offset: 0),
            preliminary: FTPReply(code: 150, "FILE: \(VirtualPath(path).name)")
        ) { result in
            await Self.finishUpload(
                result, file: file, storage: storage, writtenAt: path, finalPath: nil, removeOnFailure: true,
                logger: logger)
        }
        return .done
    }

    /// Sends the preliminary reply, then runs the transfer as a task the session owns. `finish`
    /// runs in that task after the bytes moved (closing files, renaming), before the final reply.
    func startTransfer(
        verb: String, path: String, job: FTPTransferJob, preliminary: FTPReply,
        finish: @escaping @Sendable (FTPTransferResult) async -> FTPTransferResult
    ) async {
        let source: FTPDataSource
        switch self.dataPort {
        case .passive(let listener): source = .passive(listener)
        case .active(let address): source = .active(address)
        case .none:
            // checkDataPortReady ran before; this is only reached if it was not called.
            _ = await finish(.noDataConnection("no data port"))
            await self.send(425, "Use PASV, EPSV, PORT or EPRT first.")
            return
        }
        self.dataPort = .none  // One transfer per PASV/PORT.
        let control = FTPTransferControl()
        let isListing: Bool
        if case .listing = job { isListing = true } else { isListing = false }
        let runner = FTPTransferRunner(
            job: job, source: source, tls: self.privateData ? self.environment.tls : nil,
            ascii: self.transferType == .ascii && !isListing, control: control,
            eventLoop: self.control.channel.eventLoop, dataTimeout: TimeAmount(self.configuration.dataTimeout),
            chunkSize: self.configuration.transferChunkSize)
        guard await self.send(preliminary) else {
            if case .passive(let listener) = source { listener.close() }
            _ = await finish(.connectionLost("control connection closed"))
            return
        }
        let driver = self.driver
        let started = ContinuousClock.now
        // A binary transfer runs on the control connection's event loop, where its data
        // connection is too (the passive listener and active connections are made on it): its
        // task only hands work to the thread pool and writes to that channel, so it starts, sends
        // and finishes without waking another thread.
        // An ASCII transfer translates every byte in the task: off the loop, so as not to hold up
        // the other connections on it.
        let executor: any TaskExecutor = runner.ascii ? globalConcurrentExecutor : driver.executor
        let task = Task(executorPreference: executor) {
            let result = await finish(await runner.run())
            let outcome = FTPTransferOutcome(result: result, bytes: control.bytesTransferred, duration: .now - started)
            driver.post(.transferFinished(outcome))
            return outcome
        }
        self.transfer = RunningTransfer(task: task, control: control, verb: verb, path: path)
        self.activity.setTransferRunning(true)
    }

    /// The final reply of a transfer, its log line, then ABOR's reply and any commands that waited.
    func finishTransfer(_ outcome: FTPTransferOutcome) async -> Flow {
        guard let transfer = self.transfer else { return .proceed }
        _ = await transfer.task.value
        self.transfer = nil
        self.activity.setTransferRunning(false)
        let reply = self.logTransfer(transfer, outcome)
        await self.send(reply)
        if self.abortRequested {
            self.abortRequested = false
            await self.send(226, "ABOR command successful.")
        }
        switch self.closeAfterTransfer {
        case .quit:
            await self.send(221, "Goodbye.")
            return .close
        case .shutdown:
            await self.send(421, "Server shutting down: closing control connection.")
            return .close
        case nil:
            break
        }
        while self.transfer == nil, !self.deferredInputs.isEmpty {
            let input = self.deferredInputs.removeFirst()
            let flow = await self.handle(input)
            self.control.releaseCredit()
            if flow == .close { return .close }
        }
        return .proceed
    }
}

extension FTPSession {
    /// Logs a finished transfer (one line per file transfer, as the issue's audit trail wants) and
    /// returns its final reply.
    func logTransfer(_ transfer: RunningTransfer, _ outcome: FTPTransferOutcome) -> FTPReply {
        let reply: FTPReply
        let summary: String
        switch outcome.result {
        case .completed:
            reply = FTPReply(code: 226, "Transfer complete.")
            summary = "ok"
        case .aborted:
            reply = FTPReply(code: 426, "Transfer aborted.")
            summary = "aborted"
        case .stalled:
            reply = FTPReply(
                code: 426, "Data connection idle for \(self.configuration.dataTimeout.components.seconds) s: transfer aborted.")
            summary = "failed (data connection stalled)"
        case .noDataConnection(let reason):
            reply = FTPReply(code: 425, "Cannot open data connection.")
            summary = "failed (no data connection: \(reason))"
        case .connectionLost(let reason):
            reply = FTPReply(code: 426, "Data connection closed: transfer aborted.")
            summary = "failed (\(reason))"
        case .tlsFailed(let reason):
            reply = FTPReply(code: 425, "TLS on the data connection failed.")
            summary = "failed (TLS: \(reason))"
        case .storageFailed(let error):
            reply = FTPFailure.reply(for: error, path: transfer.path)
            summary = "failed (\(error))"
        }
        let line =
            "FTP transfer \(transfer.verb) user=\(self.loggedIn?.user.name ?? "-") path=\(transfer.path) "
            + "bytes=\(outcome.bytes) duration=\(outcome.duration.logDescription) result=\(summary)"
        if ["RETR", "STOR", "APPE", "STOU"].contains(transfer.verb) {
            self.logger.info("\(line)")
        } else {
            self.logger.debug("\(line)")
        }
        return reply
    }
}

/// A finished transfer as the session loop receives it.
struct FTPTransferOutcome: Sendable {
    let result: FTPTransferResult
    let bytes: UInt64
    let duration: Duration
}
