import Foundation
import OCPSessions
@testable import OCPSessionsPostgres

/// The registry a fleet's workers use, on either backend, and the waiting that tests of several
/// "hosts" need.
extension WorkerFleet {
    /// Opens the fleet's registry (a path or a PostgreSQL URL) with the workers' key.
    func openStore() throws -> any RegistryStore {
        var environment = ProcessInfo.processInfo.environment
        environment["OCP_SESSIONS_KEY"] = key
        guard RegistryBackends.isPostgresURL(registryPath) else {
            return try SQLiteRegistry(path: registryPath, environment: environment)
        }
        return try PostgresRegistry(settings: try PostgresRegistrySettings(url: registryPath, environment: environment),
                                    environment: environment)
    }

    /// The holders of every lease (all accounts).
    func leaseHolders(_ store: any RegistryStore) throws -> [HolderIdentity] {
        try store.read { tx in try tx.accounts().flatMap { try tx.snapshot(accountID: $0.id)?.leases.map(\.holder) ?? [] } }
    }

    /// Polls (every 10 ms, at most `timeout` s) until `condition` holds on the registry; returns
    /// the seconds it took, or nil.
    func waitUntil(_ store: any RegistryStore, timeout: Double = 30, _ condition: ([HolderIdentity], Int) -> Bool) async throws -> Double? {
        let start = Date()
        while Date().timeIntervalSince(start) < timeout {
            let (holders, waiters) = try store.read { tx -> ([HolderIdentity], Int) in
                var holders: [HolderIdentity] = []
                var waiters = 0
                for account in try tx.accounts() {
                    let snapshot = try tx.snapshot(accountID: account.id)
                    holders += snapshot?.leases.map(\.holder) ?? []
                    waiters += snapshot?.waiters.count ?? 0
                }
                return (holders, waiters)
            }
            if condition(holders, waiters) { return Date().timeIntervalSince(start) }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        return nil
    }

    /// Waits for a started worker and reads its JSON summary.
    static func finish(_ started: (Process, Pipe)) -> WorkerResult {
        let data = started.1.fileHandleForReading.readDataToEndOfFile()
        started.0.waitUntilExit()
        return WorkerResult(status: started.0.terminationStatus, output: data)
    }
}
