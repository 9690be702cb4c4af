/// Percentiles of a set of durations, in milliseconds, and the rate they were achieved at.
struct Latency: Codable, Sendable {
    var count: Int
    var p50Ms: Double
    var p99Ms: Double
    var maxMs: Double
    var meanMs: Double
    /// Operations per second over the wall time of the whole measurement (all callers together).
    var perSecond: Double

    enum CodingKeys: String, CodingKey {
        case count, p50Ms = "p50_ms", p99Ms = "p99_ms", maxMs = "max_ms", meanMs = "mean_ms", perSecond = "per_second"
    }

    /// `samples` in seconds; `wall` the seconds the whole run took (for the rate).
    init(samples: [Double], wall: Double) {
        let sorted = samples.sorted()
        count = sorted.count
        p50Ms = Self.percentile(sorted, 0.50) * 1000
        p99Ms = Self.percentile(sorted, 0.99) * 1000
        maxMs = (sorted.last ?? 0) * 1000
        meanMs = sorted.isEmpty ? 0 : sorted.reduce(0, +) / Double(sorted.count) * 1000
        perSecond = wall > 0 ? Double(sorted.count) / wall : 0
    }

    /// Nearest-rank percentile of sorted samples.
    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}
