import Foundation
import KeycloakSimulator

/// How the workers of one run get their tokens.
enum SimulationMode: String, Sendable {
    /// A password login per call, never a logout: what scripts do today.
    case naive
    /// acquire -> use -> release through one shared registry.
    case ocpSessions

    /// The column heading.
    var title: String { self == .naive ? "naive scripts" : "ocp-sessions" }
}

/// What one run measured: the workers' own counts and what the simulated IAM saw.
struct SimulationOutcome: Sendable {
    var callsOK = 0
    var callsFailed = 0
    /// Seconds each successful token took, sorted.
    var tokenLatencies: [Double] = []
    /// Worker errors by message, summed over workers.
    var errors: [String: Int] = [:]
    /// The simulator's counters at the end of the run.
    var statistics = SimulatorStatistics()
    /// One line per worker that did not print a summary.
    var unreported: [String] = []
}

/// One run: a fresh simulator on 127.0.0.1, a throw-away registry in a private temporary
/// directory, and `workers` worker processes of this binary for the run's duration. Everything it
/// starts is stopped, and the directory removed, on every path.
struct SimulationRun {
    let settings: SimulationSettings
    let mode: SimulationMode
    let progress: ProgressLine
    let interrupt: InterruptWatch

    func run() async throws -> SimulationOutcome {
        let directory = try Self.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let simulator: KeycloakSimulator
        do {
            simulator = try await KeycloakSimulator.start(settings.simulatorConfiguration())
        } catch {
            throw CLIError.failure("cannot start the simulator on 127.0.0.1: \(error)", 70)
        }
        do {
            let outcome = try await runWorkers(simulator: simulator, directory: directory)
            await simulator.shutdown()
            return outcome
        } catch {
            await simulator.shutdown()
            throw error
        }
    }

    private func runWorkers(simulator: KeycloakSimulator, directory: String) async throws -> SimulationOutcome {
        let workers = try startWorkers(simulator: simulator, directory: directory)
        let started = ContinuousClock.now
        let duration = settings.duration.seconds
        // A worker finishes its last call after the duration; one that is still running long
        // after that is stuck, and is stopped (then killed) rather than waited for.
        let stopAfter = duration + SimulationSettings.workerWait + 15
        var stopRequestedAt: Double?
        while workers.contains(where: \.isRunning) {
            let elapsed = Self.seconds(since: started)
            progress.show(mode: mode, elapsed: elapsed, duration: duration, limit: settings.limit,
                          statistics: simulator.statistics())
            if interrupt.isSet {
                workers.forEach { $0.stop(force: true) }
                progress.clear()
                throw CLIError.failure("interrupted", 130)
            }
            if let requested = stopRequestedAt {
                if elapsed > requested + 2 { workers.forEach { $0.stop(force: true) } }
            } else if elapsed > stopAfter {
                workers.forEach { $0.stop(force: false) }
                stopRequestedAt = elapsed
            }
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
        progress.clear()
        var outcome = SimulationOutcome()
        outcome.statistics = simulator.statistics()
        for (index, worker) in workers.enumerated() {
            guard worker.status == 0, let summary = WorkerReport(json: worker.output) else {
                let why = worker.firstErrorLine ?? "no summary"
                outcome.unreported.append("worker \(index + 1) (\(mode.title)) exited with status \(worker.status ?? -1): \(why)")
                continue
            }
            outcome.callsOK += summary.callsOK
            outcome.callsFailed += summary.callsFailed
            outcome.tokenLatencies += summary.tokenLatencies
            outcome.errors.merge(summary.errors, uniquingKeysWith: +)
        }
        outcome.tokenLatencies.sort()
        return outcome
    }

    private func startWorkers(simulator: KeycloakSimulator, directory: String) throws -> [WorkerProcess] {
        let executable = WorkerProcess.currentExecutable
        let environment = workerEnvironment(simulator: simulator, directory: directory)
        var arguments = [
            "worker", "--cycles", "0", "--duration", String(settings.duration.seconds),
            "--protected-url", simulator.realmURL + "/sim/protected",
            "--min-validity", String(SimulationSettings.minValidity), "--wait", String(SimulationSettings.workerWait),
        ]
        if mode == .naive { arguments.append("--naive") }
        var workers: [WorkerProcess] = []
        do {
            for index in 1...settings.workers {
                workers.append(try WorkerProcess(
                    executable: executable, arguments: arguments, environment: environment,
                    outputPath: "\(directory)/worker-\(index).json", errorPath: "\(directory)/worker-\(index).err"))
            }
        } catch {
            workers.forEach { $0.stop(force: true) }
            throw error
        }
        return workers
    }

    /// This process's environment without any `OCP_*` setting of the user's (no profile, no
    /// password source, no real registry), plus the simulated account and the throw-away registry.
    private func workerEnvironment(simulator: KeycloakSimulator, directory: String) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OCP_") }
        environment["OCP_HOST"] = simulator.baseURL
        environment["OCP_USERNAME"] = SimulationSettings.username
        environment["OCP_PASSWORD"] = SimulationSettings.password
        environment["OCP_MAX_SESSIONS"] = String(settings.limit)
        environment["OCP_SESSIONS_REGISTRY"] = directory + "/registry.sqlite"
        environment["OCP_SESSIONS_KEY"] = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        environment["OCP_SESSIONS_CONFIG"] = directory + "/no-config.toml"
        return environment
    }

    private static func makeTemporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "ocp-sessions-simulate-\(getpid())-\(UUID().uuidString.prefix(8))"
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw CLIError.failure("cannot create a temporary directory under \(NSTemporaryDirectory())", 70)
        }
        return path
    }

    private static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}

/// The JSON summary a worker prints (`WorkerSummary`).
struct WorkerReport {
    var callsOK: Int
    var callsFailed: Int
    var tokenLatencies: [Double]
    var errors: [String: Int]

    init?(json: Data) {
        guard let object = try? JSONSerialization.jsonObject(with: json) as? [String: Any],
              let ok = object["calls_ok"] as? Int, let failed = object["calls_failed"] as? Int
        else { return nil }
        callsOK = ok
        callsFailed = failed
        tokenLatencies = (object["token_latencies"] as? [Any] ?? []).compactMap { ($0 as? NSNumber)?.doubleValue }
        errors = object["errors"] as? [String: Int] ?? [:]
    }
}
