import ArgumentParser
import WharfCore

/// The `wharf` command line. Thin: it parses arguments and calls into the library targets.
@main
struct Wharf: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wharf",
        abstract: "File transfer server and client: SFTP over SSH, a drop-in sftp-server, and sftp:// commands.",
        subcommands: [
            ServeCommand.self, UserCommand.self, SFTPServerCommand.self,
            GetCommand.self, PutCommand.self, MirrorCommand.self, ListCommand.self, StatCommand.self, MakeDirectoryCommand.self, RemoveCommand.self, MoveCommand.self,
            LinkCommand.self, ChangeModeCommand.self, DiskFreeCommand.self,
        ]
    )

    static func main() async {
        // Before any transfer allocates: see AllocatorTuning.
        AllocatorTuning.apply()
        await Self.main(nil)
    }
}
