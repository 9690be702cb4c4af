import Foundation

/// A length of time on the command line: `10` or `10s` (seconds), `500ms`, `1.5s`, `2m`, `1h`, `2d`
/// (`simulate --duration`, `events --since`).
struct DurationText: Equatable, CustomStringConvertible {
    /// The length in seconds.
    var seconds: Double

    /// Parses `text`; `nil` if it is not a number with an optional `ms`, `s`, `m`, `h` or `d` suffix.
    init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(suffix: String, scale: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("", 1)]
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
