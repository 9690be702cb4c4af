import NIOSSL
import OCPSessions
import PostgresNIO

enum PostgresRegistryError {
    /// A postgres-nio failure as the registry error a user can act on. PSQLError's own description
    /// hides the server's message on purpose; the server's message holds no token (tokens are
    /// sealed and passed as parameters, which the server does not echo) and no password.
    static func map(_ error: any Error, settings: PostgresRegistrySettings, doing what: String) -> RegistryError {
        if let registry = error as? RegistryError { return registry }
        guard let psql = error as? PSQLError else {
            return .database("registry \(settings.location): \(what): \(error)")
        }
        let state = psql.serverInfo?[.sqlState]
        // One line: the server's message, else what failed underneath (connection refused, ...).
        let message = (psql.serverInfo?[.message] ?? psql.underlying.map { "\($0)" } ?? "\(psql.code)")
            .split(whereSeparator: \.isNewline).joined(separator: " ")
        // TLS refused or unverifiable: a configuration problem (exit 78), as for the IAM.
        if let underlying = psql.underlying, underlying is NIOSSLError || underlying is BoringSSLError
            || underlying is NIOSSLExtraError {
            return .permission("TLS connection to the PostgreSQL registry \(settings.location) failed (\(underlying)); check sslmode and sslrootcert")
        }
        if psql.code == .sslUnsupported {
            return .permission("the PostgreSQL server of \(settings.location) does not offer TLS, which sslmode=\(settings.sslMode.rawValue) asks for")
        }
        if psql.code == .authMechanismRequiresPassword {
            return .permission("the PostgreSQL registry \(settings.location) asks for a password: set PGPASSWORD or add it to ~/.pgpass (PGPASSFILE)")
        }
        switch state {
        // lock_not_available, deadlock_detected, serialization_failure: another host held on too long.
        case "55P03", "40P01", "40001":
            return .busy("the registry \(settings.location) stayed locked by another process past the busy timeout; try again")
        // invalid_password, invalid_authorization_specification: the server refused who we are.
        case "28P01", "28000":
            return .permission("the PostgreSQL registry \(settings.location) refused the login (\(message)); check the user and PGPASSWORD or ~/.pgpass")
        // invalid_catalog_name: no such database.
        case "3D000":
            return .permission("the PostgreSQL registry \(settings.location): \(message); create the database first")
        default:
            break
        }
        if isConnectionLoss(psql) {
            return .busy("the registry \(settings.location) could not be reached (\(what): \(message)); try again")
        }
        return .database("registry \(settings.location): \(what): \(message)\(state.map { " (SQLSTATE \($0))" } ?? "")")
    }

    /// Whether the connection is gone: admin_shutdown, crash_shutdown, cannot_connect_now (the
    /// server restarting), connection exceptions, or the channel closed under postgres-nio.
    static func isConnectionLoss(_ error: any Error) -> Bool {
        guard let psql = error as? PSQLError else { return false }
        if let state = psql.serverInfo?[.sqlState] {
            return ["57P01", "57P02", "57P03"].contains(state) || state.hasPrefix("08")
        }
        return [.connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown].contains(psql.code)
    }
}
