import Foundation

/// Time as the executor sees it: wall-clock epoch seconds for expiries shared between processes,
/// a monotonic reading for wait timeouts, and sleeping. Injected so tests control it.
public protocol SessionClock: Sendable {
    /// Epoch seconds (wall clock).
    func now() -> Double
    /// Seconds on a clock that never jumps.
    func monotonic() -> Double
    func sleep(seconds: Double) async throws
}

/// The real clocks.
public struct SystemClock: SessionClock {
    public init() {}
    public func now() -> Double { Date().timeIntervalSince1970 }
    public func monotonic() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
    public func sleep(seconds: Double) async throws {
        guard seconds > 0 else { return }
        try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
    }
}
