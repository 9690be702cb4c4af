/// `status` for one account: its limits, its sessions by state, its recent activity.
public struct AccountStatus: Sendable, Equatable {
    public var account: AccountKey
    /// The IAM's limit as the most conservative caller configured it.
    public var limit: Int
    public var reserve: Int
    /// Sessions (and logins in flight) by state; every state is present, zero or not.
    public var sessions: [SessionListing.State: Int]
    /// Live callers waiting for a session.
    public var waiting: Int
    /// Counts of the last hour.
    public var loginsLastHour: Int
    public var refreshesLastHour: Int
    /// Logouts and revocations.
    public var logoutsLastHour: Int
    public var lastError: (message: String, at: Double)?
    /// Set when the IAM refused a login with fewer of our sessions alive than `limit - reserve`:
    /// sessions unknown to this registry hold the rest.
    public var effectiveCapacity: Int?
    /// No login for this account before this time (after a limiter denial).
    public var loginBlockedUntil: Double?
    /// The access token lifetime the IAM last reported.
    public var accessLifetime: Double?

    public init(
        account: AccountKey, limit: Int, reserve: Int, sessions: [SessionListing.State: Int], waiting: Int,
        loginsLastHour: Int, refreshesLastHour: Int, logoutsLastHour: Int, lastError: (message: String, at: Double)?,
        effectiveCapacity: Int?, loginBlockedUntil: Double?, accessLifetime: Double?
    ) {
        self.account = account
        self.limit = limit
        self.reserve = reserve
        self.sessions = sessions
        self.waiting = waiting
        self.loginsLastHour = loginsLastHour
        self.refreshesLastHour = refreshesLastHour
        self.logoutsLastHour = logoutsLastHour
        self.lastError = lastError
        self.effectiveCapacity = effectiveCapacity
        self.loginBlockedUntil = loginBlockedUntil
        self.accessLifetime = accessLifetime
    }

    public static func == (lhs: AccountStatus, rhs: AccountStatus) -> Bool {
        lhs.account == rhs.account && lhs.limit == rhs.limit && lhs.reserve == rhs.reserve && lhs.sessions == rhs.sessions
            && lhs.waiting == rhs.waiting && lhs.loginsLastHour == rhs.loginsLastHour
            && lhs.refreshesLastHour == rhs.refreshesLastHour && lhs.logoutsLastHour == rhs.logoutsLastHour
            && lhs.lastError?.message == rhs.lastError?.message && lhs.lastError?.at == rhs.lastError?.at
            && lhs.effectiveCapacity == rhs.effectiveCapacity && lhs.loginBlockedUntil == rhs.loginBlockedUntil
            && lhs.accessLifetime == rhs.accessLifetime
    }
}

/// `status` for the registry: where it is, its schema, where the sealing key comes from, and its accounts.
public struct RegistryStatus: Sendable, Equatable {
    public var location: String
    public var schemaVersion: Int
    public var keySource: SealingKeySource
    public var accounts: [AccountStatus]

    public init(location: String, schemaVersion: Int, keySource: SealingKeySource, accounts: [AccountStatus]) {
        self.location = location
        self.schemaVersion = schemaVersion
        self.keySource = keySource
        self.accounts = accounts
    }
}
