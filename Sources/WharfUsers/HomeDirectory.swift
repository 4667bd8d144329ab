import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where users' files live, and making sure the directory is there before the user is stored.
public enum HomeDirectory {
    /// The default home: `DATA_DIR/files/NAME`, absolute.
    public static func defaultPath(dataDirectory: String, user: String) -> String {
        absolute(dataDirectory) + "/files/" + user
    }

    /// `path` made absolute against the current directory, with `.` and `..` resolved textually,
    /// so the stored home does not change meaning when the server runs from another directory.
    public static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// Creates `path` (and missing parents) with mode 0700 if it does not exist; an existing
    /// directory is left as it is, its mode included. Returns whether the directory was created,
    /// so a caller whose next step fails can take it back with `removeIfEmpty`.
    @discardableResult
    public static func prepare(_ path: String) throws(UserStoreError) -> Bool {
        guard path.hasPrefix("/") else { throw .homeNotAbsolute(path) }
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else { throw .homeUnusable(path: path, reason: "not a directory") }
            return false
        }
        var current = ""
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o700) != 0 && errno != EEXIST {
                throw .homeUnusable(path: path, reason: String(cString: strerror(errno)))
            }
        }
        // mkdir applies the umask; a home is private whatever the umask says.
        guard chmod(path, 0o700) == 0, stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw .homeUnusable(path: path, reason: String(cString: strerror(errno)))
        }
        return true
    }

    /// Undoes `prepare` when it created the directory and nothing has been put in it yet.
    public static func removeIfEmpty(_ path: String) {
        _ = rmdir(path)
    }
}
