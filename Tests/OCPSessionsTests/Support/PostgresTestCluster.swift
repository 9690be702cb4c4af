import Foundation
import PostgresNIO
import PostgresTestControl
@testable import OCPSessionsPostgres

/// The PostgreSQL cluster the CLI and multi-process tests use: `OCP_SESSIONS_TEST_POSTGRES`
/// (`.ci/postgres-up` starts one; `.ci/run` does in CI). Each test gets a database of its own.
enum PostgresTestCluster {
    static let environment = ProcessInfo.processInfo.environment
    static let url = environment["OCP_SESSIONS_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }
    static var available: Bool { url != nil }
    /// The restart test also needs the data directory and binaries.
    static var canRestart: Bool { available && PostgresClusterRestart.isConfigured }

    /// A new empty database (owned by `owner` when given); returns its URL.
    static func makeDatabase(owner: String? = nil) throws -> String {
        let name = "ocp_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try execute("CREATE DATABASE \(name)" + (owner.map { " OWNER \($0)" } ?? ""))
        return url(database: name)
    }

    /// The cluster's URL with another database (and user).
    static func url(database: String, user: String? = nil) -> String {
        var components = URLComponents(string: url ?? "")!
        components.path = "/" + database
        if let user { components.user = user }
        return components.string!
    }

    static func drop(_ databaseURL: String) {
        guard let name = URLComponents(string: databaseURL)?.path.dropFirst() else { return }
        _ = try? execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// Runs one statement as the cluster's user on `database` and returns the first column of each row.
    @discardableResult
    static func execute(_ sql: String, database: String? = nil) throws -> [String?] {
        var settings = try PostgresRegistrySettings(url: url ?? "", environment: environment)
        if let database { settings.database = database }
        let bridge = PostgresConnectionBridge(settings: settings)
        defer { bridge.close() }
        return try bridge.execute(PostgresQuery(unsafeSQL: sql)).rows.map { row in
            let cell = PostgresRandomAccessRow(row)[0]
            return cell.bytes == nil ? nil : (try? cell.decode(String.self))
        }
    }

    /// Ends the server backends whose `application_name` contains `text` (a cut connection, as a
    /// network failure would); returns how many.
    static func terminateBackends(applicationNameContaining text: String) throws -> Int {
        try execute("""
            SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity
            WHERE application_name LIKE '%\(text.replacingOccurrences(of: "'", with: ""))%' AND pid <> pg_backend_pid()
            """).count
    }

    /// Sleeps until the server has been up longer than the registry's restart grace (10 s), during
    /// which every holder without its lock still counts as alive (a restart is not a death): a
    /// test of a dead holder's hand-over right after another test restarted the cluster would
    /// otherwise wait for the grace, not for the lock.
    static func waitOutRestartGrace() async throws {
        let grace = (try? PostgresRegistrySettings(url: url ?? "", environment: environment))?.restartGrace ?? 10
        let up = Double(try execute("SELECT extract(epoch FROM now() - pg_postmaster_start_time())::text").first?.flatMap { $0 } ?? "") ?? grace
        if up < grace + 0.5 { try await Task.sleep(nanoseconds: UInt64((grace + 0.5 - up) * 1e9)) }
    }

    /// `pg_ctl restart -m fast` of the cluster; its wait status.
    static func restart() -> Int32 { PostgresClusterRestart.run() }
}
