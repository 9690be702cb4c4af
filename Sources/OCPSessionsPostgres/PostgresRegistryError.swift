import OCPSessions
import PostgresNIO

enum PostgresRegistryError {
    /// A postgres-nio failure as the registry error a user can act on. PSQLError's own description
    /// hides the server's message on purpose; the server's message holds no token (tokens are
    /// sealed and passed as parameters, which the server does not echo).
    static func map(_ error: any Error, settings: PostgresRegistrySettings, doing what: String) -> RegistryError {
        if let registry = error as? RegistryError { return registry }
        guard let psql = error as? PSQLError else {
            return .database("registry \(settings.location): \(what): \(error)")
        }
        let state = psql.serverInfo?[.sqlState]
        let message = psql.serverInfo?[.message] ?? "\(psql.code)"
        switch state {
        // lock_not_available, deadlock_detected, serialization_failure: another host held on too long.
        case "55P03", "40P01", "40001":
            return .busy("the registry \(settings.location) stayed locked by another process past the busy timeout; try again")
        default:
            break
        }
        // admin_shutdown, crash_shutdown, cannot_connect_now (starting up), connection exceptions:
        // the server is restarting or out of reach.
        if let state, ["57P01", "57P02", "57P03"].contains(state) || state.hasPrefix("08") {
            return .busy("the registry \(settings.location) could not be reached (\(what): \(message)); try again")
        }
        if psql.code == .connectionError || psql.code == .serverClosedConnection || psql.code == .clientClosedConnection {
            return .busy("the registry \(settings.location) could not be reached (\(what): \(message)); try again")
        }
        return .database("registry \(settings.location): \(what): \(message)\(state.map { " (SQLSTATE \($0))" } ?? "")")
    }
}
