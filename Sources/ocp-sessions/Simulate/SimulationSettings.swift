import KeycloakSimulator

/// The workload `simulate` runs twice, once per column of its table.
struct SimulationSettings: Sendable {
    /// The shortest and longest runs `simulate` accepts, in seconds.
    static let allowedDurations: ClosedRange<Double> = 0.2...600

    /// Worker OS processes per run.
    var workers: Int
    /// How long each run lasts.
    var duration: DurationText
    /// The simulated IAM's session limit for the user (and the limit ocp-sessions is told).
    var limit: Int
    /// What the IAM's limiter does at the limit.
    var behavior: LimiterBehavior
    /// "Revoke Refresh Token" on at the IAM.
    var rotation: Bool
    /// Share of IAM requests that get an injected fault.
    var faultRate: Double

    /// Access tokens live this long in the simulated realm, so a run refreshes sessions too.
    static let accessTokenLifespan = 5.0
    /// Seconds of password hashing a login costs at the simulated IAM (a real one spends tens of ms).
    static let loginCost = 0.05
    /// Each token a worker gets stays valid at least this long.
    static let minValidity = 2.0
    /// How long a worker waits for a session, or retries a failing IAM, per call.
    static let workerWait = 5.0
    /// The user the workers log in as (test credentials of the simulated realm).
    static let username = "alice"
    static let password = "alice-pass"

    /// `deny` or `terminate-oldest`, as the flag spells it.
    var behaviorName: String { behavior == .deny ? "deny" : "terminate-oldest" }

    /// The simulated realm for one run: the limiter, rotation and faults asked for, and a lifetime
    /// that outlasts the run by a margin, so the server stops by itself even if `simulate` is killed.
    func simulatorConfiguration() -> SimulatorConfiguration {
        var configuration = SimulatorConfiguration()
        configuration.users = [Self.username: Self.password]
        configuration.sessionLimit = limit
        configuration.limiterBehavior = behavior
        configuration.revokeRefreshToken = rotation
        configuration.accessTokenLifespan = Self.accessTokenLifespan
        configuration.loginCost = Self.loginCost
        configuration.maximumLifetime = duration.seconds + Self.workerWait + 60
        if faultRate > 0 {
            configuration.faults = FaultConfiguration(
                rate: faultRate, kinds: [.serverError, .dropConnection, .notJSON, .slowAnswer(seconds: 0.5)],
                seed: UInt64.random(in: 1...UInt64.max))
        }
        return configuration
    }
}
