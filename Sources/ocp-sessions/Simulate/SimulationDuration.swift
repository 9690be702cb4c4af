import Foundation

/// A run length for `simulate --duration`: `10` or `10s` (seconds), `500ms`, `1.5s`, `2m`.
struct SimulationDuration: Equatable, CustomStringConvertible {
    /// The length in seconds.
    var seconds: Double

    /// The shortest and longest runs `simulate` accepts.
    static let allowed: ClosedRange<Double> = 0.2...600

    /// Parses `text`; `nil` if it is not a number with an optional `ms`, `s` or `m` suffix.
    init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(suffix: String, scale: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("", 1)]
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            guard let value = Double(trimmed.dropLast(suffix.count)), value.isFinite else { continue }
            seconds = value * scale
            return
        }
        return nil
    }

    init(seconds: Double) { self.seconds = seconds }

    /// `2s`, `500ms`, `1.5s`: how the run is named in the report.
    var description: String {
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        if seconds == seconds.rounded() { return "\(Int(seconds))s" }
        return "\(seconds)s"
    }
}
