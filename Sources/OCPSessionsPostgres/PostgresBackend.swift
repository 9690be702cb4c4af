import Foundation
import OCPSessions

/// The PostgreSQL backend as `RegistryBackends` opens it.
public enum PostgresBackend {
    /// Lets `RegistryBackends.open`, `DefaultPool` and `acquireLease` open `postgres://` URLs.
    /// Call it once at start-up in a program that links this module.
    public static func register() {
        RegistryBackends.registerPostgres { url, busyTimeout, environment in
            try open(try PostgresRegistrySettings(url: url, environment: environment, busyTimeout: busyTimeout),
                     environment: environment)
        }
    }

    /// Connects (migrating an empty database) with the team key from `environment`; the liveness is
    /// the registry's own (a holder is alive while its connection holds its lock).
    public static func open(
        _ settings: PostgresRegistrySettings, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> OpenedRegistry {
        let registry = try PostgresRegistry(settings: settings, environment: environment)
        return OpenedRegistry(store: registry, liveness: registry.liveness, backend: "postgresql")
    }
}
