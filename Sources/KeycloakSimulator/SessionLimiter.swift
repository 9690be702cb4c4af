/// The "User session count limiter" placed in the direct-grant flow after the password check
/// (`keycloak-behaviour.md` §7.2), with only the realm limit.
struct SessionLimiter: Sendable, Equatable {
    /// `nil`: the limiter is not in the flow.
    var limit: Int?
    var behavior: LimiterBehavior

    enum Decision: Sendable, Equatable {
        case allow
        case deny
        /// Log these sessions out, then allow.
        case terminate([String])
    }

    /// What a login does given the user's online sessions (all clients, detached ones too).
    func decide(existing sessions: [UserSession]) -> Decision {
        // "Exceeded" is count >= limit: the new session would be one too many.
        guard let limit, sessions.count >= limit else { return .allow }
        switch behavior {
        case .deny:
            return .deny
        case .terminateOldest:
            // Least recently refreshed first, `limit - 1` left for the new one to join (#16068).
            let excess = sessions.count - (limit - 1)
            let victims = sessions.sorted { ($0.lastRefresh, $0.started, $0.id) < ($1.lastRefresh, $1.started, $1.id) }
            return .terminate(victims.prefix(excess).map(\.id))
        }
    }
}
