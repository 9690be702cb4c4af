import Foundation
import Synchronization

/// A registry opened from a location, with what a `SessionPool` on it needs.
public struct OpenedRegistry: Sendable {
    public let store: any RegistryStore
    /// How the pool tells a live holder from a dead one on this backend.
    public let liveness: any HolderLiveness
    /// `sqlite` or `postgresql`.
    public let backend: String

    public init(store: any RegistryStore, liveness: any HolderLiveness, backend: String) {
        self.store = store
        self.liveness = liveness
        self.backend = backend
    }

    /// `sqlite (PATH)` or `postgresql (postgres://user@host:port/db)`: never a password.
    public var description: String { "\(backend) (\(store.location))" }
}

/// Chooses the backend a registry location names: a `postgres://` or `postgresql://` URL is a
/// PostgreSQL registry (issue 7, docs/postgres-design.md), anything else a SQLite file.
///
/// The PostgreSQL backend lives in the `OCPSessionsPostgres` module, which depends on this one: it
/// registers itself here (`PostgresBackend.register()`), so that `acquireLease` and
/// `DefaultPool` open a URL in `OCP_SESSIONS_REGISTRY` too. A SQLite location never touches it.
public enum RegistryBackends {
    /// Opens a PostgreSQL registry from its URL within a busy timeout, with this environment
    /// (`PGPASSWORD`, the team key).
    public typealias Opener = @Sendable (_ url: String, _ busyTimeout: Double, _ environment: [String: String]) throws -> OpenedRegistry

    private static let postgresOpener = Mutex<Opener?>(nil)

    /// Whether a registry location names PostgreSQL rather than a SQLite path.
    public static func isPostgresURL(_ location: String) -> Bool {
        location.hasPrefix("postgres://") || location.hasPrefix("postgresql://")
    }

    /// Makes `open` able to open PostgreSQL URLs.
    public static func registerPostgres(_ opener: @escaping Opener) {
        postgresOpener.withLock { $0 = opener }
    }

    /// Opens the registry at `location` (a path or a PostgreSQL URL).
    public static func open(
        _ location: String, busyTimeout: Double = 15,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> OpenedRegistry {
        guard isPostgresURL(location) else {
            let store = try SQLiteRegistry(path: location, busyTimeout: busyTimeout, environment: environment)
            return OpenedRegistry(store: store, liveness: ProcessLiveness(), backend: "sqlite")
        }
        guard let opener = postgresOpener.withLock({ $0 }) else {
            throw RegistryError.badKey(
                "the registry \(location) is a PostgreSQL URL: link OCPSessionsPostgres and call PostgresBackend.register() first")
        }
        return try opener(location, busyTimeout, environment)
    }
}

/// A registry whose sealing key `rekey` can rotate (both backends).
public protocol RekeyableRegistry: RegistryStore {
    /// Re-seals every session with `newKey` (nil: a new random key, where the key lives in a file
    /// this process may replace) and records its id, in one write transaction.
    func rekey(newKey: [UInt8]?) throws(RegistryError) -> RekeyResult
}

extension SQLiteRegistry: RekeyableRegistry {}
