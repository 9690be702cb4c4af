import Foundation

/// Seeds and figures of the chaos suite: `OCP_CHAOS_SEED=N` replays a run's random choices,
/// `OCP_CHAOS_REPORT=1` adds one line per kill to the one-line summary every test prints.
enum ChaosFigures {
    /// The seed from `OCP_CHAOS_SEED`, else a new random one (printed with the figures).
    static func seed() -> UInt64 {
        if let text = ProcessInfo.processInfo.environment["OCP_CHAOS_SEED"], let seed = UInt64(text) { return seed }
        return UInt64.random(in: 1...UInt64(UInt32.max))
    }

    static var detailed: Bool { ProcessInfo.processInfo.environment["OCP_CHAOS_REPORT"] == "1" }

    static func print(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    static func seconds(_ value: Double?) -> String {
        value.map { String(format: "%.2fs", $0) } ?? "-"
    }
}
