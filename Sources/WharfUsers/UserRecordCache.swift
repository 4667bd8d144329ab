import Synchronization

/// Users' records as last read from the database, kept only while the database is unchanged.
///
/// Every login reads its user's row, and that read (SQLite's file locks, its checks for a
/// journal and a WAL, the statement) was the largest part of a login's work on the server. A
/// record read under watch generation N answers later logins while the generation is still N
/// (see `DatabaseFileWatch` for why that is exact) and for at most `lifetime`; any change to the
/// database file, by `wharf user` or anyone else, drops the whole table. Unknown names are kept
/// too (as nil), so a scanner trying names does not cost a read each; the table is bounded.
final class UserRecordCache: Sendable {
    private struct Entry {
        let record: UserRecord?
        let readAt: ContinuousClock.Instant
    }

    private struct State {
        var generation: UInt64 = 0
        var entries: [String: Entry] = [:]
    }

    private let watch: DatabaseFileWatch
    private let lifetime: Duration
    private let capacity: Int
    private let state = Mutex(State())

    init(watch: DatabaseFileWatch, lifetime: Duration = .seconds(60), capacity: Int = 10_000) {
        self.watch = watch
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// The record of `name`: from the table if the database has not changed since it was read,
    /// else from `read`, which is then remembered.
    func record(
        named name: String, read: () throws(UserStoreError) -> UserRecord?
    ) throws(UserStoreError) -> UserRecord? {
        // Before the read: a change during the read moves the generation on and the next call reads again.
        guard let generation = self.watch.generation() else { return try read() }
        let now = ContinuousClock.now
        if let cached = self.entry(named: name, generation: generation, now: now) {
            return cached.record
        }
        let record = try read()
        self.state.withLock { state in
            // Stored only under the generation it was read under.
            guard state.generation == generation else { return }
            if state.entries.count >= self.capacity { state.entries = [:] }
            state.entries[name] = Entry(record: record, readAt: now)
        }
        return record
    }

    /// The record of `name` if the table can answer without reading the database (`.some(nil)`:
    /// known not to exist); nil if it would take a read. No blocking call: an event loop may ask.
    func cachedRecord(named name: String) -> UserRecord?? {
        guard let generation = self.watch.generation(),
            let cached = self.entry(named: name, generation: generation, now: ContinuousClock.now)
        else { return nil }
        return .some(cached.record)
    }

    /// The entry of `name` read under `generation`, still young enough; moves the table on to a
    /// newer generation (dropping every entry) first.
    private func entry(named name: String, generation: UInt64, now: ContinuousClock.Instant) -> Entry? {
        let cached = self.state.withLock { state -> Entry? in
            if state.generation < generation {
                state.generation = generation
                state.entries = [:]
            }
            // (A caller that took an older generation before another call moved on: no answer.)
            return state.generation == generation ? state.entries[name] : nil
        }
        guard let cached, now - cached.readAt < self.lifetime else { return nil }
        return cached
    }
}
