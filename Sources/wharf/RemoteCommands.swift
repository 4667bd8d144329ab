import ArgumentParser
import Foundation
import SFTPProtocol
import WharfClient

/// `wharf ls [-l] [-a] [--json] URL`
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List a remote directory.")

    @Flag(name: .customShort("l"), help: "Long listing, as ls -l.") var long = false
    @Flag(name: .customShort("a"), help: "Include names that start with a dot.") var all = false
    @Flag(name: .customLong("json"), help: "A JSON array, for scripts.") var json = false
    @Argument(help: "scheme://[user@]host[:port]/path (sftp, ftp, ftpes, ftps)") var url: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await ClientSession.perform(self.url, self.client) { remote, location, _ in
            let attributes = try await remote.stat(location.path)
            var entries: [SFTPName]
            if let mode = attributes.permissions, mode & 0o170000 == 0o040000 {
                entries = try await remote.listDirectory(location.path, includingDotEntries: self.all)
                if !self.all { entries.removeAll { $0.filename.hasPrefix(".") } }
                entries.sort { $0.filename < $1.filename }
            } else {
                let name = location.path.split(separator: "/").last.map(String.init) ?? location.path
                entries = [SFTPName(filename: name, longname: "", attributes: attributes)]
            }
            if self.json {
                print(try JSONOutput.encode(entries.map(RemoteEntry.init)))
            } else {
                for entry in entries {
                    print(self.long ? RemoteEntry(entry).longLine(serverLongname: entry.longname) : entry.filename)
                }
            }
        }
    }
}

/// `wharf stat [--json] URL`
struct StatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stat", abstract: "Show a remote file's attributes.")

    @Flag(name: .customLong("json")) var json = false
    @Argument(help: "scheme://[user@]host[:port]/path (sftp, ftp, ftpes, ftps)") var url: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await ClientSession.perform(self.url, self.client) { remote, location, _ in
            let attributes = try await remote.lstat(location.path)
            let entry = RemoteEntry(SFTPName(filename: location.path, longname: "", attributes: attributes))
            if self.json {
                print(try JSONOutput.encode(entry))
            } else {
                print("  Path: \(entry.name)")
                print("  Type: \(entry.type)")
                print("  Size: \(entry.size)")
                print("  Mode: \(entry.permissions ?? "unknown") (\(entry.modeString))")
                if let uid = attributes.uidgid?.uid, let gid = attributes.uidgid?.gid { print("   Uid: \(uid)  Gid: \(gid)") }
                if let mtime = entry.mtime { print("Modify: \(JSONOutput.iso8601(mtime))") }
            }
        }
    }
}

/// `wharf mkdir [-p] URL`
struct MakeDirectoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mkdir", abstract: "Create a remote directory.")

    @Flag(name: .customShort("p"), help: "Create missing parents; no error if it exists.") var parents = false
    @Argument var url: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await ClientSession.perform(self.url, self.client) { remote, location, _ in
            if self.parents {
                try await RemotePaths.makeDirectories(location.path, on: remote)
            } else {
                try await remote.makeDirectory(location.path, permissions: nil)
            }
        }
    }
}

/// `wharf rm [-r] URL`
struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove remote files or, with -r, trees.")

    @Flag(name: .customShort("r"), help: "Remove directories and their contents.") var recursive = false
    @Argument var url: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await ClientSession.perform(self.url, self.client) { remote, location, _ in
            let attributes = try await remote.lstat(location.path)
            if let mode = attributes.permissions, mode & 0o170000 == 0o040000 {
                guard self.recursive else {
                    throw CommandFailure("\(location.path): is a directory (use -r)")
                }
                try await RemotePaths.removeTree(location.path, on: remote)
            } else {
                try await remote.removeFile(location.path)
            }
        }
    }
}

/// `wharf mv URL NEWPATH`
struct MoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mv", abstract: "Rename a remote file.",
        discussion: "NEWPATH is a path on the same server (relative to the login directory, or //absolute), or a URL of the same server.")

    @Argument var url: String
    @Argument var newPath: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        let location = try parseLocation(self.url)
        let destination = try RemotePaths.sameServerPath(self.newPath, of: location)
        let logger = self.client.makeLogger()
        try await runReportingErrors {
            try await ClientSession.run(self.client, at: location, logger: logger) { remote, _ in
                var target = destination
                if let attributes = try? await remote.stat(destination), let mode = attributes.permissions,
                    mode & 0o170000 == 0o040000
                {
                    target = RemotePaths.join(destination, RemotePaths.lastComponent(location.path))
                }
                try await remote.rename(from: location.path, to: target, overwriting: true)
            }
        }
    }
}

/// `wharf ln -s TARGET URL`
struct LinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ln", abstract: "Create a remote symbolic (-s) or hard link.")

    @Flag(name: .customShort("s"), help: "A symbolic link holding TARGET as written.") var symbolic = false
    @Argument(help: "What the link points to.") var target: String
    @Argument(help: "The link to create: sftp://host/path") var url: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await ClientSession.perform(self.url, self.client) { remote, location, _ in
            let sftp = try RemotePaths.sftp(remote, for: "ln")
            if self.symbolic {
                try await sftp.symlink(target: self.target, linkPath: location.path)
            } else {
                let existing = try RemotePaths.sameServerPath(self.target, of: location)
                try await sftp.hardLink(from: existing, to: location.path)
            }
        }
    }
}

/// `wharf chmod MODE URL`
struct ChangeModeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "chmod", abstract: "Change a remote file's permissions.")

    @Argument(help: "Octal mode, e.g. 644.") var mode: String
    @Argument var url: String
    @OptionGroup var client: ClientOptions

    func validate() throws {
        guard let value = UInt32(self.mode, radix: 8), value <= 0o7777 else {
            throw ValidationError("invalid mode \(self.mode): give it in octal, e.g. 644")
        }
    }

    func run() async throws {
        let location = try parseLocation(self.url)
        let permissions = UInt32(self.mode, radix: 8) ?? 0
        let logger = self.client.makeLogger()
        try await runReportingErrors {
            try await ClientSession.run(self.client, at: location, logger: logger) { remote, _ in
                try await remote.setAttributes(location.path, SFTPFileAttributes(permissions: permissions))
            }
        }
    }
}

/// `wharf df URL`
struct DiskFreeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "df", abstract: "Show free space on the remote file system (statvfs).")

    @Flag(name: .customShort("h"), help: "Sizes in KiB/MiB/GiB.") var human = false
    @Argument var url: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await ClientSession.perform(self.url, self.client) { remote, location, _ in
            let vfs = try await RemotePaths.sftp(remote, for: "df").statVFS(location.path)
            let unit = vfs.fragmentSize == 0 ? vfs.blockSize : vfs.fragmentSize
            let size = vfs.blocks * unit
            let available = vfs.availableBlocks * unit
            let used = (vfs.blocks - min(vfs.blocks, vfs.freeBlocks)) * unit
            let percent = size == 0 ? 0 : Int((Double(used) * 100 / Double(used + available)).rounded(.up))
            let show: (UInt64) -> String = { self.human ? TransferProgressLine.bytes($0) : String($0 / 1024) }
            print(self.human ? "Size\tUsed\tAvail\tUse%" : "1K-blocks\tUsed\tAvailable\tUse%")
            print("\(show(size))\t\(show(used))\t\(show(available))\t\(percent)%")
        }
    }
}
