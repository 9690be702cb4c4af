import Foundation
import KeycloakSimulator
import OCPSessions

/// Runs the built `ocp-sessions` binary as real OS processes against a simulator and a registry.
struct WorkerFleet {
    let simulator: KeycloakSimulator
    let registryPath: String
    let key = Data(repeating: 42, count: 32).base64EncodedString()
    /// `OCP_SESSIONS_HOST_ID` of the workers: set, they act as another host (no pid check across).
    var hostID: String? = nil

    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["OCP_SESSIONS_HOST_ID"] = hostID
        env["OCP_HOST"] = simulator.baseURL
        env["OCP_USERNAME"] = "alice"
        env["OCP_PASSWORD"] = "alice-pass"
        env["OCP_SESSIONS_REGISTRY"] = registryPath
        env["OCP_SESSIONS_KEY"] = key
        env["OCP_SESSIONS_CONFIG"] = "/nonexistent/ocp-sessions-test-config.toml"
        return env
    }

    var protectedURL: String { simulator.baseURL + "/auth/realms/master/sim/protected" }

    /// Starts one process; the caller waits for it or kills it.
    func start(_ arguments: [String]) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestPaths.binary)
        process.arguments = arguments
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        return (process, output)
    }

    /// Starts one process whose stdout goes to the file `stdoutPath`, so a long run's output never
    /// fills a pipe nobody reads yet.
    func start(_ arguments: [String], stdoutPath: String) throws -> Process {
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestPaths.binary)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle.standardError
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Runs `count` workers at once, each doing `cycles` acquire/use/release cycles, and returns their
    /// JSON summaries.
    func run(count: Int, cycles: Int, extra: [String] = []) async throws -> [WorkerResult] {
        let started = try (0..<count).map { _ in
            try start(["worker", "--cycles", String(cycles), "--protected-url", protectedURL] + extra)
        }
        var results: [WorkerResult] = []
        for (process, pipe) in started {
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            results.append(WorkerResult(status: process.terminationStatus, output: data))
        }
        return results
    }

    /// The registry as a test reads it (same key as the workers).
    func openRegistry() throws -> SQLiteRegistry {
        try SQLiteRegistry(path: registryPath, environment: ["OCP_SESSIONS_KEY": key])
    }

    /// Session ids in the registry for alice.
    func registrySessionIDs() throws -> Set<String> {
        let registry = try openRegistry()
        return try registry.read { tx in
            let accounts = try tx.accounts()
            var ids = Set<String>()
            for account in accounts {
                ids.formUnion(try tx.snapshot(accountID: account.id)?.sessions.map(\.id) ?? [])
            }
            return ids
        }
    }
}

struct WorkerResult {
    var status: Int32
    var callsOK = 0
    var callsFailed = 0
    var errors: [String: Int] = [:]
    /// Seconds each successful acquire took.
    var tokenLatencies: [Double] = []
    /// Seconds each failed acquire took to fail, and the exit codes `token` would have given.
    var acquireFailureLatencies: [Double] = []
    var acquireFailureExitCodes: [String: Int] = [:]
    /// 401s from the protected URL answered by a forced refresh (`--retry-unauthorized`).
    var retriedUnauthorized = 0

    init(status: Int32, output: Data) {
        self.status = status
        if let object = try? JSONSerialization.jsonObject(with: output) as? [String: Any] {
            callsOK = object["calls_ok"] as? Int ?? 0
            callsFailed = object["calls_failed"] as? Int ?? 0
            errors = object["errors"] as? [String: Int] ?? [:]
            func numbers(_ key: String) -> [Double] {
                (object[key] as? [Any])?.compactMap { ($0 as? NSNumber)?.doubleValue } ?? []
            }
            tokenLatencies = numbers("token_latencies")
            acquireFailureLatencies = numbers("acquire_failure_latencies")
            acquireFailureExitCodes = object["acquire_failure_exit_codes"] as? [String: Int] ?? [:]
            retriedUnauthorized = object["retried_unauthorized"] as? Int ?? 0
        }
    }
}

/// Starts a simulator with `configure` applied and stops it after `body`, whatever happens.
func withSimulator<T>(
    _ configure: (inout SimulatorConfiguration) -> Void, _ body: (KeycloakSimulator) async throws -> T
) async throws -> T {
    var configuration = SimulatorConfiguration()
    configuration.maximumLifetime = 120
    configure(&configuration)
    let simulator = try await KeycloakSimulator.start(configuration)
    do {
        let value = try await body(simulator)
        await simulator.shutdown()
        return value
    } catch {
        await simulator.shutdown()
        throw error
    }
}
