import ArgumentParser
import Foundation
import OCPSessions
import OCPSessionsPostgres

/// One OS process of phases 2 and 7: warm acquire + release cycles on a shared registry (a SQLite
/// path or a PostgreSQL URL) from `--start-at` (monotonic seconds, shared by every process on the
/// host) for `--duration` seconds, then a JSON summary on stdout. It stops by itself when the time is up, whatever its parent does.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "One process of the multi-process phase (internal).", shouldDisplay: false)

    @Option var registry: String
    @Option var host: String
    @Option var username: String
    @Option(name: .customLong("start-at")) var startAt: Double
    @Option var duration: Double
    @Option(name: .customLong("max-sessions")) var maxSessions: Int = 5

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let password = environment["OCP_BENCH_PASSWORD"] ?? ""
        // A path or a PostgreSQL URL; the latter needs the team key and the database password.
        PostgresBackend.register()
        let opened = try RegistryBackends.open(
            registry, environment: environment.filter { ["OCP_SESSIONS_KEY", "PGPASSWORD"].contains($0.key) })
        let store = opened.store
        let pool = SessionPool(registry: store, connector: KeycloakConnector(environment: [:]), liveness: opened.liveness)
        let account = AccountConfiguration(host: host, username: username, maxSessions: maxSessions, password: .constant(password))
        var output = WorkerOutput()
        // One cycle before the start: the process's first statements and pages are warm.
        if let lease = try? await pool.acquireLease(account: account, options: Bench.warmOptions) { await lease.release() }
        let wait = startAt - Monotonic.now()
        if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
        let retriesBefore = (store as? SQLiteRegistry)?.busyRetries ?? 0
        let end = startAt + duration
        while Monotonic.now() < end {
            let began = Monotonic.now()
            do {
                let lease = try await pool.acquireLease(account: account, options: Bench.warmOptions)
                output.waitMicros.append(Int((Monotonic.now() - began) * 1e6))
                await lease.release()
                output.cycles += 1
            } catch {
                output.failures += 1
            }
        }
        output.busyRetries = ((store as? SQLiteRegistry)?.busyRetries ?? 0) - retriesBefore
        await pool.shutdown()
        let data = try JSONEncoder().encode(output)
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}

/// What a worker reports.
struct WorkerOutput: Codable {
    var cycles = 0
    var failures = 0
    var busyRetries = 0
    /// Acquire latencies (the wait for a lease), microseconds.
    var waitMicros: [Int] = []
}
