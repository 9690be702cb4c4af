import Foundation
import KeycloakSimulator

/// The two runs side by side: the table people read and the JSON programs (and the tests) read.
struct SimulationReport {
    let settings: SimulationSettings
    let naive: SimulationOutcome
    let ocpSessions: SimulationOutcome

    /// Whether the ocp-sessions run stayed within the limit: never more sessions than the limit at
    /// the IAM, no login refused and no session killed by its limiter.
    var withinLimit: Bool { Self.withinLimit(ocpSessions, limit: settings.limit) }

    static func withinLimit(_ outcome: SimulationOutcome, limit: Int) -> Bool {
        maxSessions(outcome) <= limit && outcome.statistics.denials == 0 && outcome.statistics.terminations == 0
    }

    static func maxSessions(_ outcome: SimulationOutcome) -> Int {
        outcome.statistics.highWaterMark[SimulationSettings.username, default: 0]
    }

    /// The nearest-rank percentile `p` (0...1) of sorted values, in milliseconds.
    static func percentileMilliseconds(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1] * 1000
    }

    // MARK: Table

    /// A heading line, the Markdown table (aligned, so it reads in a terminal and renders in a
    /// README), and a verdict.
    var table: String {
        let faults = settings.faultRate > 0 ? ", \(Self.percent(settings.faultRate)) of IAM requests faulted" : ""
        let heading = "\(settings.workers) worker processes for \(settings.duration) each way against a simulated Keycloak "
            + "(limit \(settings.limit), \(settings.behaviorName)\(settings.rotation ? ", rotation" : "")\(faults)):"
        let rows: [(String, (SimulationOutcome) -> String)] = [
            ("API calls ok / failed", { "\($0.callsOK) / \($0.callsFailed)" }),
            ("logins at the IAM", { "\($0.statistics.logins)" }),
            ("most sessions alive at once (limit \(settings.limit))", { "\(Self.maxSessions($0))" }),
            ("logins refused by the limiter", { "\($0.statistics.denials)" }),
            ("sessions killed by the limiter", { "\($0.statistics.terminations)" }),
            ("time to get a token p50 / p99", Self.latencies),
        ]
        let cells = [["", SimulationMode.naive.title, SimulationMode.ocpSessions.title]]
            + rows.map { [$0.0, $0.1(naive), $0.1(ocpSessions)] }
        let widths = (0..<3).map { column in cells.map { $0[column].count }.max() ?? 0 }
        func line(_ row: [String]) -> String {
            "| " + zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                .joined(separator: " | ") + " |"
        }
        let rule = "|" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "|") + "|"
        var lines = [heading, "", line(cells[0]), rule] + cells.dropFirst().map(line)
        lines += ["", verdict]
        return lines.joined(separator: "\n")
    }

    private var verdict: String {
        guard withinLimit else {
            return "ocp-sessions PASSED THE LIMIT: \(Self.maxSessions(ocpSessions)) sessions at once, "
                + "\(ocpSessions.statistics.denials) logins refused, \(ocpSessions.statistics.terminations) sessions killed."
        }
        return "ocp-sessions stayed within the limit: \(ocpSessions.statistics.logins) logins served "
            + "\(ocpSessions.callsOK) calls; the naive scripts logged in for every call and never logged out."
    }

    private static func latencies(_ outcome: SimulationOutcome) -> String {
        guard let p50 = percentileMilliseconds(outcome.tokenLatencies, 0.5),
              let p99 = percentileMilliseconds(outcome.tokenLatencies, 0.99)
        else { return "-" }
        return "\(milliseconds(p50)) / \(milliseconds(p99)) ms"
    }

    private static func milliseconds(_ value: Double) -> String {
        value < 10 ? String(format: "%.1f", value) : String(Int(value.rounded()))
    }

    private static func percent(_ rate: Double) -> String {
        String(format: "%g%%", rate * 100)
    }

    // MARK: JSON

    /// `{workers, duration_seconds, limit, behavior, rotation, fault_rate, within_limit, naive, ocp_sessions}`;
    /// each column holds the counts of the table and a few more of the simulator's counters.
    var json: String {
        JSONOutput.object([
            ("workers", .integer(settings.workers)),
            ("duration_seconds", .number(settings.duration.seconds)),
            ("limit", .integer(settings.limit)),
            ("behavior", .string(settings.behaviorName)),
            ("rotation", .bool(settings.rotation)),
            ("fault_rate", .number(settings.faultRate)),
            ("within_limit", .bool(withinLimit)),
            ("naive", Self.column(naive)),
            ("ocp_sessions", Self.column(ocpSessions)),
        ])
    }

    private static func column(_ outcome: SimulationOutcome) -> JSONOutput.Value {
        let statistics = outcome.statistics
        func milliseconds(_ p: Double) -> JSONOutput.Value {
            percentileMilliseconds(outcome.tokenLatencies, p).map { .number(($0 * 1000).rounded() / 1000) } ?? .null
        }
        return .object([
            ("calls_ok", .integer(outcome.callsOK)),
            ("calls_failed", .integer(outcome.callsFailed)),
            ("logins", .integer(statistics.logins)),
            ("login_attempts", .integer(statistics.loginAttempts)),
            ("max_sessions", .integer(maxSessions(outcome))),
            ("denials", .integer(statistics.denials)),
            ("terminations", .integer(statistics.terminations)),
            ("token_p50_ms", milliseconds(0.5)),
            ("token_p99_ms", milliseconds(0.99)),
            ("tokens", .integer(outcome.tokenLatencies.count)),
            ("refreshes", .integer(statistics.refreshes)),
            ("logouts", .integer(statistics.logouts)),
            ("dead_token_calls", .integer(statistics.deadTokenRequests)),
            ("faults_injected", .integer(statistics.faultsInjected)),
            ("workers_unreported", .integer(outcome.unreported.count)),
            ("errors", .object(outcome.errors.sorted { $0.key < $1.key }.map { ($0.key, .integer($0.value)) })),
        ])
    }
}
