import ArgumentParser

/// `wharf user add|list|remove|passwd`: manages the embedded user store.
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "user", abstract: "Manage users.")
}
