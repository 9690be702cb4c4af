/// Faults the simulator injects into requests for realm endpoints.
///
/// A fault is decided when a request arrives, before the endpoint runs, so a faulted request
/// changes nothing: no session is created, rotated or logged out, and only
/// ``SimulatorStatistics/faultsInjected`` moves. That keeps the limit counters exact under faults;
/// use ``KeycloakSimulator/hold(_:)`` for requests that are processed but never answered.
public struct FaultConfiguration: Sendable, Equatable {
    /// Probability in `0...1` that a request is faulted.
    public var rate: Double
    /// The faults to pick from, uniformly, when a request is faulted.
    public var kinds: [FaultKind]
    /// Seed of the generator that decides, so a run can be repeated.
    public var seed: UInt64

    public init(rate: Double, kinds: [FaultKind], seed: UInt64 = 1) {
        self.rate = rate
        self.kinds = kinds
        self.seed = seed
    }

    /// No faults.
    public static let none = FaultConfiguration(rate: 0, kinds: [])
}

/// One kind of injected fault.
public enum FaultKind: Sendable, Hashable {
    /// 500 `{"error":"unknown_error"}`, like an uncaught server error.
    case serverError
    /// The connection is closed without an answer.
    case dropConnection
    /// The answer comes after this many seconds and is a 504, like a proxy that gave up waiting.
    case slowAnswer(_ seconds: Double)
    /// 200 with an HTML page instead of JSON, like a captive portal or a misrouted proxy.
    case notJSON
}

extension FaultKind {
    /// ``slowAnswer(_:)`` with its argument named.
    public static func slowAnswer(seconds: Double) -> FaultKind { .slowAnswer(seconds) }
}
