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
    /// How often one process may ask the account API about logins of unknown outcome.
    public var reconcileInterval: Double = 5

    public init() {}
}
