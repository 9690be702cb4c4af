import Foundation
import NIOCore
import NIOSSL
import OCPSessions
import PostgresNIO

/// Where a PostgreSQL registry lives, from a
/// `postgres://USER@HOST[:PORT]/DATABASE[?sslmode=...&sslrootcert=PATH&connect_timeout=S]` URL.
/// The password is never part of the URL (an argument shows in `ps`): it comes from `PGPASSWORD`,
/// else `PGPASSFILE` or `~/.pgpass`, as libpq reads them (`PostgresPasswordFile`).
public struct PostgresRegistrySettings: Sendable {
    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    public var sslMode: SSLMode
    /// `sslrootcert`: the CA certificates (PEM) that verify the server; nil for the system's.
    public var sslRootCertificate: String?
    /// `connect_timeout`: seconds a connection attempt may take.
    public var connectTimeout: Int = 10
    /// How long a statement waits for another host's row lock (`lock_timeout`).
    public var busyTimeout: Double
    /// For this long after the server started, a holder without its lock still counts as alive:
    /// after a restart every holder needs a moment to reconnect and take its lock again.
    public var restartGrace: Double = 10
    var password: String?

    /// libpq's `sslmode` values.
    public enum SSLMode: String, Sendable, CaseIterable {
        /// No TLS.
        case disable
        /// TLS when the server offers it, unverified (the default, as in libpq).
        case prefer
        /// TLS, unverified unless `sslrootcert` is given (then as `verify-ca`).
        case require
        /// TLS, the chain verified, not the host name.
        case verifyCA = "verify-ca"
        /// TLS, the chain and the host name verified: recommended beyond the loopback.
        case verifyFull = "verify-full"
    }

    /// The URL's query parameters this release understands.
    static let knownParameters = ["sslmode", "sslrootcert", "connect_timeout"]

    /// Whether a `--registry` value names PostgreSQL rather than a SQLite path.
    public static func isPostgresURL(_ value: String) -> Bool {
        value.hasPrefix("postgres://") || value.hasPrefix("postgresql://")
    }

    /// Parses `url`; `warn` gets one line if the password file is ignored (readable by others).
    /// Errors are one line and never contain a password.
    public init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                busyTimeout: Double = 15,
                warn: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) throws(RegistryError) {
        let form = "expected postgres://USER@HOST[:PORT]/DATABASE[?sslmode=MODE&sslrootcert=PATH&connect_timeout=SECONDS]"
        guard Self.isPostgresURL(url), let components = URLComponents(string: url) else {
            throw .database("not a PostgreSQL URL: \(form)")
        }
        if components.password != nil {
            throw .database("put the PostgreSQL password in PGPASSWORD or ~/.pgpass, not in the URL")
        }
        guard let host = components.host, !host.isEmpty else {
            throw .database("the PostgreSQL URL names no host: \(form)")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw .database("the PostgreSQL URL names no database: \(form)")
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw .database("the PostgreSQL URL's port \(port) is out of range 1-65535") }
        var sslMode = SSLMode.prefer
        var rootCertificate: String?
        var connectTimeout = 10
        var seen: Set<String> = []
        for item in components.queryItems ?? [] {
            guard Self.knownParameters.contains(item.name) else {
                throw .database("unknown parameter '\(item.name)' in the PostgreSQL URL (known: \(Self.knownParameters.joined(separator: ", ")))")
            }
            guard seen.insert(item.name).inserted else {
                throw .database("the PostgreSQL URL gives \(item.name) twice")
            }
            let value = item.value ?? ""
            switch item.name {
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    throw .database("sslmode must be one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                sslMode = mode
            case "sslrootcert":
                guard !value.isEmpty else { throw .database("sslrootcert needs the path of a PEM file of CA certificates") }
                rootCertificate = value
            default:
                guard let seconds = Int(value), (1...3600).contains(seconds) else {
                    throw .database("connect_timeout must be a whole number of seconds from 1 to 3600")
                }
                connectTimeout = seconds
            }
        }
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        self.port = port
        self.user = components.user ?? environment["PGUSER"] ?? environment["USER"] ?? "postgres"
        self.database = database
        self.sslMode = sslMode
        self.sslRootCertificate = rootCertificate
        self.connectTimeout = connectTimeout
        self.busyTimeout = busyTimeout
        self.password = PostgresPasswordFile.password(
            host: self.host, port: port, database: database, user: self.user, environment: environment, warn: warn)
    }

    /// The URL as shown to people: never a password.
    public var location: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        var parameters: [String] = []
        if sslMode != .prefer { parameters.append("sslmode=\(sslMode.rawValue)") }
        if let sslRootCertificate { parameters.append("sslrootcert=\(sslRootCertificate)") }
        if connectTimeout != 10 { parameters.append("connect_timeout=\(connectTimeout)") }
        let query = parameters.isEmpty ? "" : "?" + parameters.joined(separator: "&")
        return "postgres://\(user)@\(shownHost):\(port)/\(database)\(query)"
    }

    /// `application_name` of every registry connection: `ocp-sessions:<pid>:<host id>`, so an
    /// operator (or a test) finds a process's backend in `pg_stat_activity`. The server keeps
    /// its first 63 bytes and shows non-ASCII as `?`.
    public static var applicationName: String {
        "ocp-sessions:\(getpid()):\(ProcessIdentity.hostName)"
    }

    /// Settings sent in the startup message (no round trip): the name above, `lock_timeout` (the
    /// busy timeout), `synchronous_commit` (a login reservation is durable before its login), and
    /// the server's keepalives so it drops a vanished client's locks in seconds.
    var startupParameters: [(String, String)] {
        [("application_name", Self.applicationName),
         ("lock_timeout", "\(Int(busyTimeout * 1000))"),
         ("synchronous_commit", "on"),
         ("tcp_keepalives_idle", "1"), ("tcp_keepalives_interval", "1"), ("tcp_keepalives_count", "1"),
         ("tcp_user_timeout", "2000")]
    }

    /// The TLS context `sslmode` and `sslrootcert` ask for, as libpq reads them.
    func tls() throws(RegistryError) -> PostgresConnection.Configuration.TLS {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case .disable:
            return .disable
        case .prefer:
            configuration.certificateVerification = .none
        case .require:
            // libpq: a root certificate given makes `require` verify the chain, as `verify-ca`.
            configuration.certificateVerification = sslRootCertificate == nil ? .none : .noHostnameVerification
        case .verifyCA:
            configuration.certificateVerification = .noHostnameVerification
        case .verifyFull:
            configuration.certificateVerification = .fullVerification
        }
        if let sslRootCertificate {
            guard FileManager.default.isReadableFile(atPath: sslRootCertificate) else {
                throw .permission("sslrootcert \(sslRootCertificate) cannot be read (the PostgreSQL registry \(location))")
            }
            configuration.trustRoots = .file(sslRootCertificate)
        }
        do {
            let context = try NIOSSLContext(configuration: configuration)
            return sslMode == .prefer ? .prefer(context) : .require(context)
        } catch {
            throw .permission("TLS setup for the PostgreSQL registry \(location) failed: \(error)")
        }
    }

    var configuration: PostgresConnection.Configuration {
        get throws {
            var configuration = PostgresConnection.Configuration(
                host: host, port: port, username: user, password: password, database: database, tls: try tls())
            configuration.options.additionalStartupParameters = startupParameters
            configuration.options.connectTimeout = .seconds(Int64(connectTimeout))
            return configuration
        }
    }
}
