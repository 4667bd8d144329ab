import Logging

/// A session's logger: the listener's, with the peer and (once logged in) the user added to each
/// line as metadata.
///
/// The metadata is built when a line is logged, not kept in a logger of the session's own: a
/// `Logger` with metadata set holds a copy of its handler, the metadata dictionary and the handler's
/// rendering of it (about 600 bytes), for every session, idle or not. The lines look the same.
struct FTPSessionLogger {
    let base: Logger
    let peer: String
    var user: String?

    private var metadata: Logger.Metadata {
        var metadata: Logger.Metadata = ["peer": .string(self.peer)]
        if let user = self.user { metadata["user"] = .string(user) }
        return metadata
    }

    /// A `Logger` with this session's metadata set, for the parts that log on their own and live
    /// only as long as a command or a transfer (a passive listener, an upload's end).
    var withSessionMetadata: Logger {
        var logger = self.base
        for (key, value) in self.metadata { logger[metadataKey: key] = value }
        return logger
    }

    func log(
        level: Logger.Level, _ message: @autoclosure () -> Logger.Message,
        file: String = #fileID, function: String = #function, line: UInt = #line
    ) {
        // The metadata is an autoclosure in `Logger.log`: built only when the level passes.
        self.base.log(
            level: level, message(), metadata: self.metadata, file: file, function: function, line: line)
    }

    func debug(
        _ message: @autoclosure () -> Logger.Message,
        file: String = #fileID, function: String = #function, line: UInt = #line
    ) {
        self.log(level: .debug, message(), file: file, function: function, line: line)
    }

    func info(
        _ message: @autoclosure () -> Logger.Message,
        file: String = #fileID, function: String = #function, line: UInt = #line
    ) {
        self.log(level: .info, message(), file: file, function: function, line: line)
    }

    func notice(
        _ message: @autoclosure () -> Logger.Message,
        file: String = #fileID, function: String = #function, line: UInt = #line
    ) {
        self.log(level: .notice, message(), file: file, function: function, line: line)
    }

    func warning(
        _ message: @autoclosure () -> Logger.Message,
        file: String = #fileID, function: String = #function, line: UInt = #line
    ) {
        self.log(level: .warning, message(), file: file, function: function, line: line)
    }

    func error(
        _ message: @autoclosure () -> Logger.Message,
        file: String = #fileID, function: String = #function, line: UInt = #line
    ) {
        self.log(level: .error, message(), file: file, function: function, line: line)
    }
}
