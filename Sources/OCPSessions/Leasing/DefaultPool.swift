import Synchronization
import Foundation

/// The process-wide pool on the default registry (`$OCP_SESSIONS_REGISTRY`, a path or a
/// PostgreSQL URL, else
/// `$XDG_STATE_HOME/ocp-sessions/registry.sqlite`), for callers that need no other.
public enum DefaultPool {
    fileprivate static let state = Mutex<SessionPool?>(nil)

    /// The registry path used when none is given.
    public static func defaultRegistryPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let path = environment["OCP_SESSIONS_REGISTRY"], !path.isEmpty { return path }
        let stateHome = environment["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() + "/.local/state")
        return stateHome + "/ocp-sessions/registry.sqlite"
    }

    /// The shared pool, opened on first use. It lives as long as the process.
    public static func shared() throws -> SessionPool {
        try state.withLock { pool in
            if let pool { return pool }
            do {
                // A PostgreSQL URL needs `PostgresBackend.register()` (module OCPSessionsPostgres) first.
                let opened = try RegistryBackends.open(defaultRegistryPath())
                let created = SessionPool(registry: opened.store, connector: KeycloakConnector(), liveness: opened.liveness)
                pool = created
                return created
            } catch {
                throw OCPSessionsError.wrap(error)
            }
        }
    }
}

extension DefaultPool {
    /// Shuts the shared pool's HTTP clients down and forgets it (the next `shared()` opens a new
    /// one). Call it before the process exits if it used `acquireLease`.
    public static func shutdown() async {
        let pool = state.withLock { pool -> SessionPool? in
            defer { pool = nil }
            return pool
        }
        await pool?.shutdown()
    }
}

/// Acquires a lease on `account` from the default registry: the library's one-call entry point.
///
/// ```swift
/// let account = AccountConfiguration(host: "https://iam.example.com", username: "alice",
///                                    password: .constant(password))
/// let lease = try await acquireLease(account: account)
/// defer { Task { await lease.release() } }
/// ```
public func acquireLease(account: AccountConfiguration, options: LeaseOptions = LeaseOptions()) async throws -> Lease {
    try await DefaultPool.shared().acquireLease(account: account, options: options)
}
