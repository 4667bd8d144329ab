import Synchronization

/// uid/gid → name lookups are slow (NSS) and repeat in every listing; remember them.
final class AccountNameCache: Sendable {
    private let users = Mutex<[UInt32: String?]>([:])
    private let groups = Mutex<[UInt32: String?]>([:])

    /// Blocks on NSS on a miss: call on the thread pool.
    func userName(_ uid: UInt32) -> String? {
        if let cached = self.users.withLock({ $0[uid] }) { return cached }
        let name = POSIX.userName(uid)
        self.users.withLock { $0[uid] = .some(name) }
        return name
    }

    /// Both names when both were looked up before (a name may be nil: the id has none); nil when
    /// either would need NSS.
    func cachedNames(userID: UInt32, groupID: UInt32) -> (user: String?, group: String?)? {
        guard let user = self.users.withLock({ $0[userID] }), let group = self.groups.withLock({ $0[groupID] }) else {
            return nil
        }
        return (user, group)
    }

    func groupName(_ gid: UInt32) -> String? {
        if let cached = self.groups.withLock({ $0[gid] }) { return cached }
        let name = POSIX.groupName(gid)
        self.groups.withLock { $0[gid] = .some(name) }
        return name
    }
}
