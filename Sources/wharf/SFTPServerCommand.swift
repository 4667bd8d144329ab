import ArgumentParser

struct SFTPServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sftp-server", abstract: "Serve SFTP on stdin/stdout.")
}
