import ArgumentParser
import OCPSessions

/// How `token` and `exec` take their lease.
struct LeaseFlags: ParsableArguments {
    @Option(name: .customLong("min-validity"), help: "Seconds the token must stay valid.")
    var minValidity: Double = 30
    @Option(help: "Seconds to wait for a session at the limit and to retry a failing IAM.")
    var wait: Double = 60
    @Option(help: "Shown as the holder (default: the parent process's name).")
    var label: String?
    @Flag(help: "Take a shared lease (several holders per session).")
    var shared = false
    @Option(name: .customLong("max-hold"), help: "Hold time in seconds, renewed while the holder lives.")
    var maxHold: Double = 900

    func validate() throws {
        guard minValidity.isFinite, (0...86_400).contains(minValidity) else {
            throw ValidationError("--min-validity must be between 0 and 86400 seconds")
        }
        guard wait.isFinite, (0...86_400).contains(wait) else { throw ValidationError("--wait must be between 0 and 86400 seconds") }
        guard maxHold.isFinite, (1...604_800).contains(maxHold) else {
            throw ValidationError("--max-hold must be between 1 and 604800 seconds")
        }
    }
}
