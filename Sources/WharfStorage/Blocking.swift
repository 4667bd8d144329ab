import NIOPosix
import WharfCore

/// Runs blocking file-system work on a thread pool, keeping it off event loops and off the
/// cooperative pool, and carries `StorageError` through as a typed error.
enum Blocking {
    static func run<T: Sendable>(
        on pool: NIOThreadPool, _ body: @Sendable @escaping () throws(StorageError) -> T
    ) async throws(StorageError) -> T {
        do {
            return try await pool.runIfActive { try body() }
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(.failure, "Storage unavailable: \(error)")
        }
    }
}
