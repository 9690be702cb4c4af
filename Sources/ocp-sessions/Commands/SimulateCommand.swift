import ArgumentParser
import Foundation
import KeycloakSimulator

/// Runs the whole story with no setup: the same workload of worker processes against a simulated
/// Keycloak on 127.0.0.1, first through ocp-sessions, then the way scripts do it today (a password
/// login per call, never a logout), and prints both side by side.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Show on a simulated Keycloak what ocp-sessions changes for a team's scripts.",
        discussion: """
            Starts the Keycloak simulator on 127.0.0.1 with a session limit, a throw-away registry in a
            private temporary directory, and --workers processes of this binary that loop acquire ->
            call a bearer-protected endpoint -> release for --duration. Then runs the same workload
            the naive way (a password login per call, never a logout) against a fresh simulator, and
            prints both side by side. Nothing outside the temporary directory is read or written; it is
            removed at the end. While a run goes, a progress line is shown on stderr if it is a terminal.

            The simulated realm issues access tokens valid for 5 s (so runs also refresh sessions) and
            spends 50 ms on each password login, as a real IAM hashing a password does.

            Examples:
              ocp-sessions simulate
              ocp-sessions simulate --behavior terminate-oldest --rotation --duration 30s
              ocp-sessions simulate --faults 0.05 --json

            Exit codes: 0 ocp-sessions stayed within the limit; 1 it did not (a bug: please report it);
            64 bad flags; 70 the simulator or a worker process could not run; 130 interrupted.
            """
    )

    @Option(help: "Worker processes in each run (1-64).")
    var workers: Int = 12
    @Option(help: "How long each run lasts: 10, 10s, 500ms or 2m (0.2s to 10m).")
    var duration: String = "10s"
    @Option(help: "Sessions per user the simulated IAM allows (1-100).")
    var limit: Int = 5
    @Option(help: "What the IAM's limiter does at the limit: deny or terminate-oldest.")
    var behavior: String = "deny"
    @Flag(help: "Turn refresh-token rotation (Revoke Refresh Token) on at the IAM.")
    var rotation = false
    @Option(help: "Share of IAM requests that fail (server error, dropped connection, HTML, slow answer), 0-1.")
    var faults: Double = 0
    @Flag(help: "Print the two columns as JSON instead of a table.")
    var json = false

    /// The flags checked and resolved; a `CLIError.usage` (exit 64) names the first bad one.
    func settings() throws -> SimulationSettings {
        guard (1...64).contains(workers) else { throw CLIError.usage("--workers must be between 1 and 64") }
        guard let parsed = DurationText(duration), SimulationSettings.allowedDurations.contains(parsed.seconds) else {
            throw CLIError.usage("--duration must be 0.2s to 10m, written like 10, 10s, 500ms or 2m (got '\(duration)')")
        }
        guard (1...100).contains(limit) else { throw CLIError.usage("--limit must be between 1 and 100") }
        let behaviors: [String: LimiterBehavior] = ["deny": .deny, "terminate-oldest": .terminateOldest]
        guard let limiter = behaviors[behavior] else {
            throw CLIError.usage("--behavior must be deny or terminate-oldest (got '\(behavior)')")
        }
        guard faults.isFinite, (0...1).contains(faults) else { throw CLIError.usage("--faults must be between 0 and 1") }
        return SimulationSettings(workers: workers, duration: parsed, limit: limit, behavior: limiter,
                                  rotation: rotation, faultRate: faults)
    }

    func validate() throws {
        do {
            _ = try settings()
        } catch let error as CLIError {
            throw ValidationError(error.description)
        }
    }

    func run() async throws {
        try await CommandRunner.run {
            let settings = try settings()
            let progress = ProgressLine.forStandardError()
            let interrupt = InterruptWatch()
            let ocpSessions = try await SimulationRun(
                settings: settings, mode: .ocpSessions, progress: progress, interrupt: interrupt).run()
            let naive = try await SimulationRun(
                settings: settings, mode: .naive, progress: progress, interrupt: interrupt).run()
            let report = SimulationReport(settings: settings, naive: naive, ocpSessions: ocpSessions)
            FileHandle.standardOutput.write(Data(((json ? report.json : report.table) + "\n").utf8))
            let unreported = ocpSessions.unreported + naive.unreported
            if let first = unreported.first {
                throw CLIError.failure("\(unreported.count) worker(s) did not report; the first: \(first)", 70)
            }
            if !report.withinLimit {
                throw CLIError.failure("the ocp-sessions run passed the IAM's session limit; please report this", 1)
            }
        }
    }
}
