import FTPProtocol
import WharfCore

extension FTPSession {
    /// The one place a command meets the table: unknown verbs (500), disabled ones (502), the login
    /// gate (530), argument rules (501) and the permission gate (550), then its handler. Handlers
    /// throw `FTPFailure`; it becomes a reply here.
    func dispatch(_ command: FTPCommandLine) async -> Flow {
        guard let spec = FTPCommandSpec.lookup(command.verb) else {
            self.renameSource = nil
            await self.send(500, "Unknown command \"\(command.verb)\".")
            return .proceed
        }
        let verb = spec.canonicalName
        // RNTO must follow RNFR immediately (RFC 959 §4.1.3).
        if verb != "RNTO" && verb != "RNFR" { self.renameSource = nil }
        if self.features.disabledCommands.contains(spec.name) {
            await self.send(502, "\(spec.name) not implemented: TLS is off on this server.")
            return .proceed
        }
        if spec.needsLogin && self.loggedIn == nil {
            await self.send(530, "Please log in with USER and PASS.")
            return .proceed
        }
        guard spec.argument.accepts(command.argument) else {
            let text = spec.argument == .required ? "needs an argument" : "takes no argument"
            await self.send(501, "\(spec.name) \(text). \(spec.help)")
            return .proceed
        }
        if !spec.permission.isEmpty, let login = self.loggedIn, !login.allowed.isSuperset(of: spec.permission) {
            await self.send(550, "Permission denied.")
            return .proceed
        }
        let argument = command.argument ?? ""
        do {
            switch try await self.perform(verb, argument) {
            case .reply(let reply):
                await self.send(reply)
            case .replyAndClose(let reply):
                await self.send(reply)
                return .close
            case .done:
                break
            }
        } catch {
            if case .storage(let storageError, let path) = error {
                self.logger.debug("\(verb) \(path): \(storageError)")
            }
            await self.send(error.reply)
        }
        return .proceed
    }

    enum CommandResult {
        case reply(FTPReply)
        case replyAndClose(FTPReply)
        /// The handler has replied itself (transfers, AUTH TLS, delayed login failures).
        case done

        static func reply(_ code: Int, _ text: String) -> CommandResult {
            .reply(FTPReply(code: code, text))
        }
    }

    private func perform(_ verb: String, _ argument: String) async throws(FTPFailure) -> CommandResult {
        switch verb {
        // Access control
        case "USER": return await self.user(argument)
        case "PASS": return await self.pass(argument)
        case "REIN": return self.reinitialize()
        case "QUIT": return .replyAndClose(FTPReply(code: 221, "Goodbye."))
        // Security (RFC 2228, 4217)
        case "AUTH": return try await self.authenticateTLS(argument)
        case "PBSZ": return self.protectionBufferSize(argument)
        case "PROT": return self.protectionLevel(argument)
        case "CCC": return .reply(534, "CCC refused: the control connection stays encrypted.")
        // Navigation
        case "PWD": return .reply(FTPReply.pathname(self.workingDirectory.description, "is the current directory."))
        case "CWD": return try await self.changeDirectory(argument.isEmpty ? "/" : argument)
        case "CDUP": return try await self.changeDirectory("..")
        // Files and directories
        case "MKD": return try await self.makeDirectory(argument)
        case "RMD": return try await self.removeDirectory(argument)
        case "DELE": return try await self.deleteFile(argument)
        case "RNFR": return try await self.renameFrom(argument)
        case "RNTO": return try await self.renameTo(argument)
        case "SIZE": return try await self.size(argument)
        case "MDTM": return try await self.modificationTime(argument)
        case "MFMT": return try await self.setModificationTime(argument)
        case "SITE": return try await self.site(argument)
        case "HASH": return try await self.hash(argument)
        case "MLST": return try await self.machineListSingle(argument)
        case "STAT": return try await self.status(argument)
        // Transfer parameters
        case "TYPE": return self.setType(argument)
        case "MODE": return argument.uppercased() == "S" ? .reply(200, "Mode set to S.") : .reply(504, "Only MODE S is supported.")
        case "STRU": return argument.uppercased() == "F" ? .reply(200, "Structure set to F.") : .reply(504, "Only STRU F is supported.")
        case "REST": return self.restart(argument)
        case "ALLO": return .reply(202, "No storage allocation necessary.")
        case "PASV": return await self.passive()
        case "EPSV": return await self.extendedPassive(argument)
        case "PORT": return self.active(argument, extended: false)
        case "EPRT": return self.active(argument, extended: true)
        // Transfers
        case "RETR": return try await self.retrieve(argument)
        case "STOR": return try await self.store(argument, mode: .replace)
        case "APPE": return try await self.store(argument, mode: .append)
        case "STOU": return try await self.store(argument, mode: .unique)
        case "LIST": return try await self.list(argument, format: .long)
        case "NLST": return try await self.list(argument, format: .names)
        case "MLSD": return try await self.list(argument, format: .machine)
        case "ABOR": return .reply(225, "No transfer to abort.")
        // Information
        case "OPTS": return self.options(argument)
        case "FEAT": return .reply(FTPCommandSpec.featReply(commands: self.offeredCommands, options: self.features))
        case "HELP": return .reply(FTPCommandSpec.helpReply(argument.isEmpty ? nil : argument, commands: self.offeredCommands))
        case "SYST": return .reply(215, "UNIX Type: L8")
        case "NOOP": return .reply(200, "NOOP ok.")
        default:
            return .reply(502, "\(verb) not implemented.")
        }
    }

    var offeredCommands: [FTPCommandSpec] {
        FTPCommandSpec.all.filter { !self.features.disabledCommands.contains($0.name) }
    }

    /// A client path made absolute against the working directory; `..` stops at the root.
    func resolve(_ argument: String) -> String {
        VirtualPath(argument, relativeTo: self.workingDirectory).description
    }

    /// The logged-in user's storage; dispatch has already refused commands before login.
    var storage: any Storage {
        get throws(FTPFailure) {
            guard let login = self.loggedIn else { throw .reply(530, "Please log in with USER and PASS.") }
            return login.storage
        }
    }
}
