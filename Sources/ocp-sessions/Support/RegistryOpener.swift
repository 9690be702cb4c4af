import Foundation
import OCPSessions
import OCPSessionsPostgres

/// Opens the registry the settings name: a SQLite file, or a PostgreSQL database for a
/// `postgres://` / `postgresql://` URL (docs/operations.md). The SQLite path touches nothing of
/// PostgreSQL: the cached `token` stays as fast as it was (docs/performance.md).
enum RegistryOpener {
    /// `existingRegistry`: a SQLite path must already hold a registry (exit 66 otherwise); a
    /// PostgreSQL database is always there to connect to, and an empty one gets the schema.
    static func open(
        _ settings: ResolvedSettings, existingRegistry: Bool, busyTimeout: Double,
        environment: [String: String]
    ) throws -> OpenedRegistry {
        let environment = keyEnvironment(settings, environment)
        guard RegistryBackends.isPostgresURL(settings.registry) else {
            if existingRegistry { try RegistryPresence.requireExisting(settings.registry) }
            do {
                let store = try SQLiteRegistry(path: settings.registry, busyTimeout: busyTimeout, environment: environment)
                return OpenedRegistry(store: store, liveness: ProcessLiveness(), backend: "sqlite")
            } catch {
                throw OCPSessionsError.wrap(error)
            }
        }
        let postgres = try postgresSettings(settings.registry, busyTimeout: busyTimeout, environment: environment)
        do {
            return try PostgresBackend.open(postgres, environment: environment)
        } catch {
            throw OCPSessionsError.wrap(error)
        }
    }

    /// A PostgreSQL URL's settings; a malformed URL (or one holding a password) is a usage error.
    static func postgresSettings(_ url: String, busyTimeout: Double, environment: [String: String]) throws -> PostgresRegistrySettings {
        do {
            return try PostgresRegistrySettings(url: url, environment: environment, busyTimeout: busyTimeout)
        } catch {
            throw CLIError.usage(error.description)
        }
    }

    /// The environment the registry reads its key from: `--key-file` (a flag) wins over
    /// `OCP_SESSIONS_KEY`; `OCP_SESSIONS_KEY_FILE` and the profile's `key-file` come after it.
    static func keyEnvironment(_ settings: ResolvedSettings, _ environment: [String: String]) -> [String: String] {
        guard let keyFile = settings.keyFile else { return environment }
        var environment = environment
        environment["OCP_SESSIONS_KEY_FILE"] = keyFile
        if settings.keyFileFromFlag { environment["OCP_SESSIONS_KEY"] = nil }
        return environment
    }
}
