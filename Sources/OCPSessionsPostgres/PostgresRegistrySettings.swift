import Foundation
import NIOSSL
import OCPSessions
import PostgresNIO

/// Where a PostgreSQL registry lives, from a `postgres://USER@HOST[:PORT]/DATABASE[?sslmode=...]`
/// URL. The password is never part of the URL (an argument shows in `ps`): it comes from
/// `PGPASSWORD` (`~/.pgpass` is the next slice, docs/postgres-design.md).
public struct PostgresRegistrySettings: Sendable {
    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    public var sslMode: SSLMode
    /// How long a statement waits for another host's row lock (`lock_timeout`).
    public var busyTimeout: Double
    /// For this long after the server started, a holder without its lock still counts as alive:
    /// after a restart every holder needs a moment to reconnect and take its lock again.
    public var restartGrace: Double = 10
    var password: String?

    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }

    /// Whether a `--registry` value names PostgreSQL rather than a SQLite path.
    public static func isPostgresURL(_ value: String) -> Bool {
        value.hasPrefix("postgres://") || value.hasPrefix("postgresql://")
    }

    public init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                busyTimeout: Double = 15) throws(RegistryError) {
        guard Self.isPostgresURL(url), let components = URLComponents(string: url) else {
            throw .database("not a PostgreSQL URL: expected postgres://USER@HOST[:PORT]/DATABASE")
        }
        if components.password != nil {
            throw .database("put the PostgreSQL password in PGPASSWORD or ~/.pgpass, not in the URL")
        }
        guard let host = components.host, !host.isEmpty else {
            throw .database("the PostgreSQL URL names no host: expected postgres://USER@HOST[:PORT]/DATABASE")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw .database("the PostgreSQL URL names no database: expected postgres://USER@HOST[:PORT]/DATABASE")
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw .database("the PostgreSQL URL's port \(port) is out of range") }
        var sslMode = SSLMode.prefer
        for item in components.queryItems ?? [] {
            guard item.name == "sslmode" else {
                throw .database("unknown parameter \(item.name) in the PostgreSQL URL (known: sslmode)")
            }
            guard let mode = item.value.flatMap(SSLMode.init(rawValue:)) else {
                throw .database("sslmode must be one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            sslMode = mode
        }
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        self.port = port
        self.user = components.user ?? environment["USER"] ?? "postgres"
        self.database = database
        self.sslMode = sslMode
        self.busyTimeout = busyTimeout
        self.password = environment["PGPASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The URL as shown to people: never a password.
    public var location: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        let query = sslMode == .prefer ? "" : "?sslmode=\(sslMode.rawValue)"
        return "postgres://\(user)@\(shownHost):\(port)/\(database)\(query)"
    }

    /// `application_name` of every registry connection: `ocp-sessions:<pid>:<host id>`, so an
    /// operator (or a test) finds a process's backend in `pg_stat_activity`. The server keeps
    /// its first 63 bytes and shows non-ASCII as `?`.
    public static var applicationName: String {
        "ocp-sessions:\(getpid()):\(ProcessIdentity.hostName)"
    }

    /// Settings sent in the startup message (no round trip): the name above, `lock_timeout` (the
    /// busy timeout), and the server's keepalives so it drops a vanished client's locks in seconds.
    var startupParameters: [(String, String)] {
        [("application_name", Self.applicationName),
         ("lock_timeout", "\(Int(busyTimeout * 1000))"),
         ("tcp_keepalives_idle", "1"), ("tcp_keepalives_interval", "1"), ("tcp_keepalives_count", "1"),
         ("tcp_user_timeout", "2000")]
    }

    var configuration: PostgresConnection.Configuration {
        get throws {
            let tls: PostgresConnection.Configuration.TLS
            switch sslMode {
            case .disable:
                tls = .disable
            case .prefer, .require:
                var unverified = TLSConfiguration.makeClientConfiguration()
                unverified.certificateVerification = .none
                let context = try NIOSSLContext(configuration: unverified)
                tls = sslMode == .prefer ? .prefer(context) : .require(context)
            case .verifyFull:
                tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
            var configuration = PostgresConnection.Configuration(
                host: host, port: port, username: user, password: password, database: database, tls: tls)
            configuration.options.additionalStartupParameters = startupParameters
            return configuration
        }
    }
}
