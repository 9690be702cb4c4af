/// The margins and timeouts the scheduler decides with. Defaults suit a real Keycloak; tests shrink
/// them to fractions of a second.
public struct SchedulerPolicy: Sendable, Equatable {
    /// A refresh token with less than this left is not used (the request could arrive too late).
    public var refreshMargin: Double = 5
    /// Sessions whose refresh token ends within this window are stale: not handed out when another
    /// session can serve, and logged out when a slot is needed.
    public var staleWindow: Double = 60
    /// How long a refresh claim holds before others may assume the refresher died.
    public var refreshClaimDuration: Double = 30
    /// How long a logout claim holds before another process retries that logout.
    public var logoutClaimDuration: Double = 30
    /// A waiter that has not polled for this long is gone.
    public var waiterTimeout: Double = 10
    /// Assumed SSO idle timeout (plus Keycloak's 120 s grace) while the IAM has not told us one.
    public var defaultIdleTimeout: Double = 1920
    /// Grace added to the observed idle timeout before a lost login is assumed gone.
    public var idleGrace: Double = 120
    /// After a limiter denial, no login for this long.
    public var loginBlockAfterDenial: Double = 60
    /// After this many denials in a row, log in only below the capacity the IAM allowed, so the
    /// account's brute-force counter (denials count as failed logins) never reaches a lockout.
    public var maxConsecutiveDenials: Int = 3
    /// The most denials in a row within `failureResetTime`: one more attempt after
    /// `maxConsecutiveDenials`, an idle timeout later. It stays below a lockout threshold of 5.
    public var denialBudget: Int = 4
    /// Keycloak's brute-force "Failure Reset Time" (12 h by default): failures older than this
    /// are forgotten, so a login refused that long ago no longer counts toward a lockout.
    public var failureResetTime: Double = 43_200
    /// How often one process may ask the account API about logins of unknown outcome, and how
    /// long a census of the user's sessions stays fresh enough to log in on.
    public var reconcileInterval: Double = 5
    /// A census in progress: other callers wait this long for its result before asking themselves.
    public var censusClaimDuration: Double = 2
    /// After the account API refused our token (403: no account roles), no census for this long.
    public var accountAPIRetryAfter: Double = 600

    public init() {}
}
