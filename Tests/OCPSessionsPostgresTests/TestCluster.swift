import Foundation
import Testing
import PostgresNIO
import PostgresTestControl
@testable import OCPSessions
@testable import OCPSessionsPostgres

/// The server these tests use: `OCP_SESSIONS_TEST_POSTGRES=postgres://USER@127.0.0.1:PORT/postgres`
/// (a throw-away cluster; docs/postgres-design.md "CI"). Each test works in a database of its own.
enum TestCluster {
    static let url = ProcessInfo.processInfo.environment["OCP_SESSIONS_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }
    static var available: Bool { url != nil }

    /// The trait of every suite that needs the cluster: without it the suite is disabled with this
    /// reason shown (never reported as passed); under CI, `PostgresClusterConfigurationTests` fails.
    static let required = ConditionTrait.enabled(
        if: available, "PostgreSQL tests need a cluster: set OCP_SESSIONS_TEST_POSTGRES=postgres://USER@HOST:PORT/DB")

    /// Whether CI runs without a cluster, which must fail rather than skip the PostgreSQL tests.
    static var missingUnderCI: Bool {
        ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty } == true && !available
    }

    /// Runs blocking work (seconds of it) on a thread of its own and awaits its result, so a test
    /// does not hold a thread of the small cooperative pool meanwhile: other suites' process exits
    /// are noticed on that pool. No expectations inside: they belong to the test's task.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: body()) }.start()
        }
    }

    /// A new empty database on the test cluster, dropped by `drop`.
    static func makeDatabase() throws -> PostgresRegistrySettings {
        let admin = try PostgresRegistrySettings(url: try #require(url))
        let name = "ocp_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try PostgresConnectionBridge(settings: admin).execute(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
        var settings = admin
        settings.database = name
        return settings
    }

    /// `pg_ctl restart` of the test cluster (`OCP_SESSIONS_TEST_PGDATA`, `OCP_SESSIONS_TEST_PGBIN`).
    static var canRestart: Bool { available && PostgresClusterRestart.isConfigured }

    static func restart() async throws {
        let status = await offPool { PostgresClusterRestart.run() }
        #expect(status == 0, "pg_ctl restart failed (wait status \(status))")
    }

    static func drop(_ settings: PostgresRegistrySettings) {
        guard let url, let admin = try? PostgresRegistrySettings(url: url) else { return }
        _ = try? PostgresConnectionBridge(settings: admin)
            .execute(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(settings.database) WITH (FORCE)"))
    }
}


/// Under CI the PostgreSQL tests must run: a missing cluster is one failure with one clear line.
@Suite("PostgreSQL test cluster")
struct PostgresClusterConfigurationTests {
    @Test("CI provides a PostgreSQL cluster (OCP_SESSIONS_TEST_POSTGRES)")
    func configuredUnderCI() {
        #expect(!TestCluster.missingUnderCI,
                "CI is set but OCP_SESSIONS_TEST_POSTGRES is not: the PostgreSQL tests cannot run (.ci/run starts a cluster)")
    }
}

/// A holder on another host: no `/proc` check here can see it, only its connection's lock.
let remoteHolder = HolderIdentity(pid: 1, startTime: 1, bootID: "other-boot", host: "other-host", label: "remote")

extension PostgresRegistry {
    /// Creates `account` with one login in flight held by `remoteHolder` (on this registry's
    /// connection, so under its lock key) and returns the account's id.
    func seedRemoteLogin(_ account: AccountKey) throws -> Int64 {
        try write { tx -> Int64 in
            let id = try tx.upsertAccount(account, limit: 5, reserve: 0, now: 1).id
            try tx.insertLogin(LoginRecord(id: "g-r", holder: remoteHolder, startedAt: 1, deadline: 2), accountID: id)
            return id
        }
    }
}
