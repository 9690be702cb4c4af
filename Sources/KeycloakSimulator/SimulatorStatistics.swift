/// Counters a test reads to prove what the simulated IAM saw. All of them survive
/// ``KeycloakSimulator/restart()``.
public struct SimulatorStatistics: Sendable, Codable, Equatable {
    /// Per user, the most online sessions that existed at once (detached and foreign ones
    /// included): what the IAM's limiter would have counted. A limit was never passed if this
    /// stays at or below it.
    public var highWaterMark: [String: Int] = [:]
    /// Per user (every user that ever had an online session), the online sessions now.
    public var currentSessions: [String: Int] = [:]
    /// Successful password grants.
    public var logins = 0
    /// Password grants that reached the credential check (not faulted, client and request
    /// valid), whatever their outcome.
    public var loginAttempts = 0
    /// Password grants refused by the session limiter.
    public var denials = 0
    /// Sessions the limiter terminated under "terminate oldest".
    public var terminations = 0
    /// Password grants refused because brute-force detection had locked the user.
    public var lockedOutAttempts = 0
    /// Successful refresh grants.
    public var refreshes = 0
    /// Failed refresh grants, by `error_description` (or `error` when there is none).
    public var refreshErrors: [String: Int] = [:]
    /// How often a refresh request for a session arrived while another refresh request for the
    /// same session was still in flight (not yet answered): the race that rotation punishes.
    public var concurrentRefreshes = 0
    /// Requests to the `sim/protected` endpoint refused because the access token was expired,
    /// revoked, malformed or its session gone.
    public var deadTokenRequests = 0
    /// Requests to the `sim/protected` endpoint that were served.
    public var protectedRequests = 0
    /// Logout requests answered 204 (the session may already have been gone).
    public var logouts = 0
    /// Requests that got an injected fault instead of being processed.
    public var faultsInjected = 0
    /// Refreshes that failed rotation's reuse check (reuse or a stale token) and so detached
    /// their client session.
    public var reuseDetections = 0

    public init() {}
}
