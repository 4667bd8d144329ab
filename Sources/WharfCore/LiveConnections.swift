import NIOCore
import Synchronization

/// The open connections of a listener, so that shutdown can close what outlives the grace period.
public final class LiveConnections: Sendable {
    private let state = Mutex<(next: Int, channels: [Int: any Channel])>((0, [:]))

    public init() {}

    public func insert(_ channel: any Channel) -> Int {
        self.state.withLock { state in
            state.next += 1
            state.channels[state.next] = channel
            return state.next
        }
    }

    public func remove(_ token: Int) {
        _ = self.state.withLock { $0.channels.removeValue(forKey: token) }
    }

    public var count: Int { self.state.withLock { $0.channels.count } }

    /// Closes every connection still open and returns how many there were.
    public func closeAll() -> Int {
        let channels = self.state.withLock { Array($0.channels.values) }
        for channel in channels { channel.close(promise: nil) }
        return channels.count
    }
}
