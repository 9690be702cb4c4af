/// Times for people, relative to now: `4m ago`, `in 25m`, `now`; `-` for none.
enum RelativeTime {
    static func describe(_ epoch: Double?, now: Double) -> String {
        guard let epoch else { return "-" }
        let delta = epoch - now
        if abs(delta) < 1 { return "now" }
        let span = amount(abs(delta))
        return delta < 0 ? "\(span) ago" : "in \(span)"
    }

    /// `45s`, `4m`, `3h`, `2d`, rounded down to the largest unit.
    static func amount(_ seconds: Double) -> String {
        switch seconds {
        case ..<60: return "\(Int(seconds))s"
        case ..<3600: return "\(Int(seconds / 60))m"
        case ..<86_400: return "\(Int(seconds / 3600))h"
        default: return "\(Int(seconds / 86_400))d"
        }
    }
}
