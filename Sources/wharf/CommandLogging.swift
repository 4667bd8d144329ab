#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

import Logging

/// How the commands set up logging.
enum CommandLogging {
    /// Log lines to standard error from `level` up.
    static func bootstrapStandardError(level: Logger.Level) {
        pinLocalTimeZone()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }

    /// Each log line's time goes through localtime_r, and with TZ unset glibc checks
    /// /etc/localtime (a stat) on every call: one system call per line, on event loops. TZ naming
    /// that same file gives the same zone and makes glibc read it once. A TZ of the user's own is
    /// left alone. Called first thing, before any other thread could read the environment.
    static func pinLocalTimeZone() {
        if getenv("TZ") == nil {
            setenv("TZ", ":/etc/localtime", 0)
        }
    }
}
