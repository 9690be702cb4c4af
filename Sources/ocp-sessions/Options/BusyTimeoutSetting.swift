import Foundation

/// `OCP_SESSIONS_BUSY_TIMEOUT`: how many seconds a command waits for another process's lock on the
/// registry before it gives up with exit 75. The default suits people; tests and impatient jobs
/// lower it, so a registry locked by a stuck process fails fast instead of after 15 s.
enum BusyTimeoutSetting {
    static let variable = "OCP_SESSIONS_BUSY_TIMEOUT"
    static let defaultSeconds = 15.0
    static let range = 0.1...3600.0

    /// The timeout from `environment`; an empty variable counts as unset, anything but a number in
    /// `range` is a usage error (exit 64), as for `OCP_MAX_SESSIONS`.
    static func resolve(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Double {
        guard let text = environment[variable], !text.isEmpty else { return defaultSeconds }
        guard let seconds = Double(text), range.contains(seconds) else {
            throw CLIError.usage("\(variable) must be a number of seconds in 0.1...3600, got '\(text)'")
        }
        return seconds
    }
}
