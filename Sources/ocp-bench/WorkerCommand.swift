import ArgumentParser
import Foundation
import OCPSessions

/// One OS process of phase 2: warm acquire + release cycles on a shared registry from `--start-at`
/// (monotonic seconds, shared by every process on the host) for `--duration` seconds, then a JSON
/// summary on stdout. It stops by itself when the time is up, whatever its parent does.
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
        let password = ProcessInfo.processInfo.environment["OCP_BENCH_PASSWORD"] ?? ""
        let store = try SQLiteRegistry(path: registry, environment: [:])
        let pool = SessionPool(registry: store, connector: KeycloakConnector(environment: [:]))
        let account = AccountConfiguration(host: host, username: username, maxSessions: maxSessions, password: .constant(password))
        var output = WorkerOutput()
        // One cycle before the start: the process's first statements and pages are warm.
        if let lease = try? await pool.acquireLease(account: account, options: Bench.warmOptions) { await lease.release() }
        let wait = startAt - Monotonic.now()
        if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
        let retriesBefore = store.busyRetries
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
        output.busyRetries = store.busyRetries - retriesBefore
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
