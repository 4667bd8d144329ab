#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

import FTPProtocol
import NIOCore
import WharfCore

extension FTPSession {
    enum ListingFormat {
        /// LIST and STAT: `ls -l` lines.
        case long
        /// NLST: names.
        case names
        /// MLSD: RFC 3659 facts.
        case machine

        var verb: String {
            switch self {
            case .long: return "LIST"
            case .names: return "NLST"
            case .machine: return "MLSD"
            }
        }
    }

    func list(_ argument: String, format: ListingFormat) async throws(FTPFailure) -> CommandResult {
        try self.checkDataPortReady()
        let lines = try await self.listingLines(argument, format: format)
        var listing = ByteBuffer()
        listing.reserveCapacity(lines.reduce(0) { $0 + $1.utf8.count + 2 })
        for line in lines {
            listing.writeString(line)
            listing.writeString("\r\n")
        }
        await self.startTransfer(
            verb: format.verb, path: self.resolve(argument), job: .listing(listing),
            preliminary: FTPReply(code: 150, "Here comes the directory listing.")
        ) { $0 }
        return .done
    }

    /// The lines of a listing, made before the 150 reply so that a missing directory gets 550
    /// without a data connection being opened.
    func listingLines(_ argument: String, format: ListingFormat) async throws(FTPFailure) -> [String] {
        // MLSD takes a plain path (RFC 3659); LIST, NLST and STAT take ls flags and globs too.
        let arguments = format == .machine ? FTPListArguments(flags: "", path: argument) : FTPListArguments(parsing: argument)
        let target = VirtualPath(self.resolve(arguments.path.isEmpty ? "." : arguments.path))
        var entries: [DirectoryEntry]
        var directory = target
        if format != .machine && FTPListArguments.isGlob(target.name) {
            directory = target.parent
            entries = try await self.readDirectory(directory.description).filter {
                FTPListArguments.matches($0.name, pattern: target.name)
            }
        } else {
            let path = target.description
            let attributes = try await self.onStorage(path) { try await $0.attributes(at: path, followingSymlinks: true) }
            if attributes.type == .directory {
                entries = try await self.readDirectory(path)
            } else {
                guard format != .machine else { throw .reply(501, "\(path): Not a directory; use MLST.") }
                directory = target.parent
                entries = [DirectoryEntry(name: target.name, attributes: attributes)]
            }
        }
        // A name holding CR or LF cannot be framed in a listing; such entries are left out.
        entries.removeAll { $0.name.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) }
        entries.sort { $0.name < $1.name }
        switch format {
        case .names:
            return entries.map(\.name)
        case .machine:
            let allowed = self.loggedIn?.allowed ?? .readOnly
            var lines: [String] = []
            for entry in entries {
                var attributes = entry.attributes
                if attributes.type == .symbolicLink {
                    // Clients mirror what a link points to; a link leading nowhere (or out of the
                    // jail) stays a link.
                    let path = directory.appending(entry.name).description
                    if let resolved = try? await self.storage.attributes(at: path, followingSymlinks: true) {
                        attributes = resolved
                    }
                }
                let item = self.listEntry(name: entry.name, attributes: attributes, owner: nil, group: nil, symlinkTarget: nil)
                lines.append(FTPListing.mlsdLine(item, facts: self.features.selectedFacts, allowed: allowed))
            }
            return lines
        case .long:
            let storage = try self.storage
            let userIDs = Array(Set(entries.map(\.attributes.userID)))
            let groupIDs = Array(Set(entries.map(\.attributes.groupID)))
            let names = await storage.accountNames(userIDs: userIDs, groupIDs: groupIDs)
            var owners: [UInt32: String] = [:]
            var groups: [UInt32: String] = [:]
            for (index, id) in userIDs.enumerated() { owners[id] = names.users[index] }
            for (index, id) in groupIDs.enumerated() { groups[id] = names.groups[index] }
            let now = Self.currentTime()
            var lines: [String] = []
            lines.reserveCapacity(entries.count)
            for entry in entries {
                var target: String? = nil
                if entry.attributes.type == .symbolicLink {
                    target = try? await storage.readSymbolicLink(at: directory.appending(entry.name).description)
                }
                let item = self.listEntry(
                    name: entry.name, attributes: entry.attributes, owner: owners[entry.attributes.userID] ?? nil,
                    group: groups[entry.attributes.groupID] ?? nil, symlinkTarget: target)
                lines.append(FTPListing.listLine(item, now: now))
            }
            return lines
        }
    }

    /// Every entry of a directory but `.` and `..`.
    func readDirectory(_ path: String) async throws(FTPFailure) -> [DirectoryEntry] {
        let directory = try await self.onStorage(path) { try await $0.openDirectory(at: path) }
        var entries: [DirectoryEntry] = []
        do {
            while true {
                let batch = try await directory.nextEntries(maximumCount: 1024)
                if batch.isEmpty { break }
                entries.append(contentsOf: batch.filter { $0.name != "." && $0.name != ".." })
            }
        } catch {
            await directory.close()
            throw .storage(error, path: path)
        }
        await directory.close()
        return entries
    }

    func listEntry(
        name: String, attributes: FileAttributes, owner: String?, group: String?, symlinkTarget: String?
    ) -> FTPListEntry {
        let kind: FTPListEntry.Kind
        switch attributes.type {
        case .directory: kind = .directory
        case .symbolicLink: kind = .symlink
        default: kind = .file
        }
        return FTPListEntry(
            name: name, kind: kind, size: attributes.size, mode: attributes.permissions,
            modificationTime: attributes.modificationTime, linkCount: UInt64(attributes.linkCount),
            owner: owner ?? attributes.userName ?? String(attributes.userID),
            group: group ?? attributes.groupName ?? String(attributes.groupID), symlinkTarget: symlinkTarget,
            uniqueID: attributes.fileIdentity?.uniqueFact)
    }

    static func currentTime() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec)
    }
}
