#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// Logs to syslog(3), as OpenSSH's sftp-server does unless given `-e`.
public struct SyslogLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    /// `facility` is a syslog facility code (LOG_AUTH and friends); openlog keeps the ident pointer,
    /// so it is a static string.
    public static func open(facility: Int32) {
        openlog("wharf-sftp-server", LOG_PID, facility)
    }

    public init() {}

    public func log(event: LogEvent) {
        let priority: Int32
        switch event.level {
        case .trace, .debug: priority = LOG_DEBUG
        case .info: priority = LOG_INFO
        case .notice: priority = LOG_NOTICE
        case .warning: priority = LOG_WARNING
        case .error: priority = LOG_ERR
        case .critical: priority = LOG_CRIT
        }
        let text = "\(event.message)"
        text.withCString { pointer in withVaList([pointer]) { vsyslog(priority, "%s", $0) } }
    }
}
