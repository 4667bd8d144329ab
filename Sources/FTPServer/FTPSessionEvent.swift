import FTPProtocol

/// One line from the control connection, tagged with the TLS epoch it arrived in.
///
/// The epoch goes up by one when AUTH TLS switches the connection to TLS. A line with an older
/// epoch was sent in plaintext after AUTH TLS, before the handshake: it may have been injected by
/// whoever sits on the wire, so it is discarded instead of being run as if it came over TLS.
struct FTPControlInput: Sendable {
    let event: FTPLineEvent
    let epoch: Int
}

/// What the session reacts to, in the order it happened. The session's driver owns all session
/// state; everything else (the control reader, the transfer, the timers) reports through events.
enum FTPSessionEvent: Sendable {
    case input(FTPControlInput)
    /// The control connection was closed by the client or failed.
    case inputEnded
    case transferFinished(FTPTransferOutcome)
    /// The idle timeout or the login grace time ran out.
    case timedOut(FTPSessionTimeout)
    /// The server is shutting down: finish a running transfer, then say 421 and close.
    case shutdown
}

enum FTPSessionTimeout: Sendable {
    case idle, loginGrace
}

/// Where a session's events go (its `FTPSessionDriver`); `post` may be called from any thread.
protocol FTPSessionEventSink: AnyObject, Sendable {
    func post(_ event: FTPSessionEvent)
    /// The connection is registered and active (the greeting is on its way), on its event loop:
    /// events may be handled from now on.
    func connectionActive()
}

extension FTPSessionEventSink {
    func connectionActive() {}
}
