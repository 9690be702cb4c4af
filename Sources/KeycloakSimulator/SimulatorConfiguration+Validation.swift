/// A configuration that ``KeycloakSimulator/start(_:host:port:)`` refuses, with the field at fault.
public struct SimulatorConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The offending field, e.g. `ssoSessionIdle` or `faults.rate`.
    public var field: String
    /// What is wrong with it.
    public var problem: String

    public var description: String { "invalid simulator configuration: \(field) \(problem)" }
}

extension SimulatorConfiguration {
    /// Ten years: any longer lifetime is a unit mistake (milliseconds for seconds), not a test.
    static let absurdDuration: Double = 10 * 365 * 24 * 3600

    /// Throws the first problem found.
    func validate() throws(SimulatorConfigurationError) {
        if realm.isEmpty || realm.contains("/") {
            throw .init(field: "realm", problem: "must be a non-empty name without '/'")
        }
        if !basePath.isEmpty && (!basePath.hasPrefix("/") || basePath.hasSuffix("/")) {
            throw .init(field: "basePath", problem: "must be empty or start with '/' and not end with '/'")
        }
        if users.keys.contains(where: \.isEmpty) {
            throw .init(field: "users", problem: "contains an empty username")
        }
        if let both = publicClients.first(where: { confidentialClients[$0] != nil }) {
            throw .init(field: "publicClients", problem: "and confidentialClients both contain '\(both)'")
        }
        try Self.checkPositive(accessTokenLifespan, "accessTokenLifespan")
        try Self.checkPositive(ssoSessionIdle, "ssoSessionIdle")
        try Self.checkPositive(ssoSessionMax, "ssoSessionMax")
        try Self.checkPositive(offlineSessionIdle, "offlineSessionIdle")
        try Self.checkNonNegative(idleGrace, "idleGrace")
        try Self.checkNonNegative(loginCost, "loginCost")
        if maximumLifetime.isNaN || maximumLifetime <= 0
            || (maximumLifetime.isFinite && maximumLifetime > Self.absurdDuration)
        {
            throw .init(
                field: "maximumLifetime",
                problem: "must be positive and at most ten years, or infinite (was \(maximumLifetime))")
        }
        if let sessionLimit, sessionLimit < 1 {
            throw .init(field: "sessionLimit", problem: "must be at least 1 or nil (was \(sessionLimit))")
        }
        if invalidGrantStatus != 400 && invalidGrantStatus != 401 {
            throw .init(field: "invalidGrantStatus", problem: "must be 400 or 401 (was \(invalidGrantStatus))")
        }
        if let bruteForce {
            if bruteForce.failureFactor < 1 {
                throw .init(
                    field: "bruteForce.failureFactor", problem: "must be at least 1 (was \(bruteForce.failureFactor))")
            }
            try Self.checkNonNegative(bruteForce.lockoutSeconds, "bruteForce.lockoutSeconds")
        }
        try faults.validate()
    }

    private static func checkPositive(_ value: Double, _ field: String) throws(SimulatorConfigurationError) {
        if !(value > 0) || !value.isFinite || value > absurdDuration {
            throw .init(
                field: field, problem: "must be a positive number of seconds of at most ten years (was \(value))")
        }
    }

    static func checkNonNegative(_ value: Double, _ field: String) throws(SimulatorConfigurationError) {
        if !(value >= 0) || !value.isFinite || value > absurdDuration {
            throw .init(
                field: field,
                problem: "must be zero or a positive number of seconds of at most ten years (was \(value))")
        }
    }
}

extension FaultConfiguration {
    func validate() throws(SimulatorConfigurationError) {
        if !(0...1).contains(rate) {
            throw .init(field: "faults.rate", problem: "must be within 0...1 (was \(rate))")
        }
        if rate > 0 && kinds.isEmpty {
            throw .init(field: "faults.kinds", problem: "must not be empty when the rate is above 0")
        }
        for case .slowAnswer(let seconds) in kinds {
            try SimulatorConfiguration.checkNonNegative(seconds, "faults.slowAnswer")
        }
    }
}
