import Foundation
import KeycloakSimulator

/// The one line `simulate` keeps rewriting on stderr while a run goes, from the simulated IAM's
/// counters. Shown only when stderr is a terminal, so logs and pipes get the report alone.
struct ProgressLine: Sendable {
    let enabled: Bool

    /// Enabled when stderr is a terminal.
    static func forStandardError() -> ProgressLine {
        ProgressLine(enabled: isatty(STDERR_FILENO) == 1)
    }

    func show(mode: SimulationMode, elapsed: Double, duration: Double, limit: Int, statistics: SimulatorStatistics) {
        guard enabled else { return }
        let calls = statistics.protectedRequests + statistics.deadTokenRequests
        let sessions = statistics.currentSessions[SimulationSettings.username, default: 0]
        let clock = String(format: "%4.1fs/%.0fs", min(elapsed, duration), duration.rounded(.up))
        let line = "\(mode.title) \(clock)  calls \(calls)  logins \(statistics.logins)  sessions \(sessions) (limit \(limit))"
            + "  refused \(statistics.denials)  killed \(statistics.terminations)"
        write("\r\u{1B}[K" + line)
    }

    /// Erases the line.
    func clear() {
        guard enabled else { return }
        write("\r\u{1B}[K")
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
