/// A problem with the registry file, its directory or its sealing key. Messages are one line and
/// say what to do; they never contain a token.
public enum RegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The key is missing, malformed or not the one that sealed the tokens.
    case badKey(String)
    /// A sealed token does not open (wrong key, moved between rows, damaged).
    case sealing(String)
    /// A file or directory has modes that expose it, or cannot be created or read.
    case permission(String)
    /// The file is not an SQLite database, is truncated, or fails its integrity check.
    case corrupt(String)
    /// The registry was written by a newer release whose schema this binary cannot use.
    case newerSchema(String)
    /// Another process kept the registry locked past the busy timeout.
    case busy(String)
    /// The registry sits on a network filesystem, where SQLite's locking is unsafe.
    case unsafeFilesystem(String)
    /// Any other SQLite failure.
    case database(String)

    public var description: String {
        switch self {
        case .badKey(let m), .sealing(let m), .permission(let m), .corrupt(let m), .newerSchema(let m),
            .busy(let m), .unsafeFilesystem(let m), .database(let m):
            return m
        }
    }

    /// Maps an SQLite failure on `path` to the registry error a user can act on.
    static func from(_ error: SQLiteError, path: String) -> RegistryError {
        if error.isBusy {
            return .busy("the registry \(path) stayed locked by another process past the busy timeout; try again")
        }
        if error.isCorrupt {
            return .corrupt("the registry \(path) is damaged or not an ocp-sessions registry (\(error.message)); it was left untouched — move it aside to start a new one")
        }
        return .database("registry \(path): \(error.message)")
    }

    /// Maps any failure of work on the registry at `path`: registry errors pass through, SQLite's
    /// as `from(_:path:)`, anything else as `.database`.
    static func from(any error: any Error, path: String) -> RegistryError {
        switch error {
        case let error as RegistryError: return error
        case let error as SQLiteError: return from(error, path: path)
        default: return .database("registry \(path): \(error)")
        }
    }
}
