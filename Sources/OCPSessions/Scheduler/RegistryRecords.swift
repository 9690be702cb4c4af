/// The scheduler's view of one account's registry rows: everything a decision depends on, and no
/// token. Backends load it inside the write transaction that will apply the decision.
public struct AccountSnapshot: Sendable, Equatable {
    public var account: AccountRecord
    public var sessions: [SessionRecord]
    public var leases: [LeaseRecord]
    public var logins: [LoginRecord]
    public var waiters: [WaiterRecord]

    public init(
        account: AccountRecord, sessions: [SessionRecord] = [], leases: [LeaseRecord] = [],
        logins: [LoginRecord] = [], waiters: [WaiterRecord] = []
    ) {
        self.account = account
        self.sessions = sessions
        self.leases = leases
        self.logins = logins
        self.waiters = waiters
    }
}

public struct AccountRecord: Sendable, Equatable {
    public var id: Int64
    public var key: AccountKey
    public var sessionLimit: Int
    public var reserve: Int
    public var effectiveCapacity: Int?
    public var consecutiveDenials: Int
    public var loginBlockedUntil: Double?
    public var idleTimeout: Double?
    public var accessLifetime: Double?
    /// When a process last started asking the account API (about lost logins, or for a census).
    public var lastReconcileAt: Double?
    /// Sessions at the IAM unknown to this registry, as the account API last showed them.
    public var foreignSessions: Int?
    /// When the account API last answered a census (or failed to).
    public var foreignCountedAt: Double?
    /// The account API refused our tokens (no account roles): no census before this time.
    public var accountAPIRefusedUntil: Double?

    public init(
        id: Int64, key: AccountKey, sessionLimit: Int, reserve: Int = 0, effectiveCapacity: Int? = nil,
        consecutiveDenials: Int = 0, loginBlockedUntil: Double? = nil, idleTimeout: Double? = nil,
        accessLifetime: Double? = nil, lastReconcileAt: Double? = nil, foreignSessions: Int? = nil,
        foreignCountedAt: Double? = nil, accountAPIRefusedUntil: Double? = nil
    ) {
        self.id = id
        self.key = key
        self.sessionLimit = sessionLimit
        self.reserve = reserve
        self.effectiveCapacity = effectiveCapacity
        self.consecutiveDenials = consecutiveDenials
        self.loginBlockedUntil = loginBlockedUntil
        self.idleTimeout = idleTimeout
        self.accessLifetime = accessLifetime
        self.lastReconcileAt = lastReconcileAt
        self.foreignSessions = foreignSessions
        self.foreignCountedAt = foreignCountedAt
        self.accountAPIRefusedUntil = accountAPIRefusedUntil
    }
}

public struct SessionRecord: Sendable, Equatable {
    public enum State: String, Sendable {
        case active
        /// Being logged out, or a logout to retry: it still counts against the limit.
        case loggingOut = "logging_out"
    }

    public var id: String
    public var state: State
    public var clientID: String
    public var accessExpiresAt: Double
    /// `nil` when the IAM gave no refresh expiry.
    public var refreshExpiresAt: Double?
    public var createdAt: Double
    public var lastUsedAt: Double
    public var lastRefreshedAt: Double
    public var handedOutUntil: Double
    public var version: Int
    public var refreshClaim: String?
    public var refreshClaimUntil: Double?
    public var logoutClaimUntil: Double?
    /// The process logging the session out; nil for claims written by releases before schema 4.
    public var logoutClaimer: HolderIdentity?

    public init(
        id: String, state: State = .active, clientID: String = "ocp", accessExpiresAt: Double,
        refreshExpiresAt: Double?, createdAt: Double, lastUsedAt: Double, lastRefreshedAt: Double,
        handedOutUntil: Double = 0, version: Int = 1, refreshClaim: String? = nil,
        refreshClaimUntil: Double? = nil, logoutClaimUntil: Double? = nil, logoutClaimer: HolderIdentity? = nil
    ) {
        self.id = id
        self.state = state
        self.clientID = clientID
        self.accessExpiresAt = accessExpiresAt
        self.refreshExpiresAt = refreshExpiresAt
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.lastRefreshedAt = lastRefreshedAt
        self.handedOutUntil = handedOutUntil
        self.version = version
        self.refreshClaim = refreshClaim
        self.refreshClaimUntil = refreshClaimUntil
        self.logoutClaimUntil = logoutClaimUntil
        self.logoutClaimer = logoutClaimer
    }
}

public struct LeaseRecord: Sendable, Equatable {
    public var id: String
    public var sessionID: String
    public var shared: Bool
    public var holder: HolderIdentity
    public var acquiredAt: Double
    public var expiresAt: Double

    public init(id: String, sessionID: String, shared: Bool, holder: HolderIdentity, acquiredAt: Double, expiresAt: Double) {
        self.id = id
        self.sessionID = sessionID
        self.shared = shared
        self.holder = holder
        self.acquiredAt = acquiredAt
        self.expiresAt = expiresAt
    }
}

public struct LoginRecord: Sendable, Equatable {
    public enum State: String, Sendable {
        case inFlight = "in_flight"
        /// The holder died or the answer was lost: a session may exist that we hold no token for.
        case unknown
    }

    public var id: String
    public var state: State
    public var holder: HolderIdentity
    public var startedAt: Double
    public var deadline: Double

    public init(id: String, state: State = .inFlight, holder: HolderIdentity, startedAt: Double, deadline: Double) {
        self.id = id
        self.state = state
        self.holder = holder
        self.startedAt = startedAt
        self.deadline = deadline
    }
}

public struct WaiterRecord: Sendable, Equatable {
    public var ticket: Int64
    public var holder: HolderIdentity
    public var enqueuedAt: Double
    public var heartbeatAt: Double

    public init(ticket: Int64, holder: HolderIdentity, enqueuedAt: Double, heartbeatAt: Double) {
        self.ticket = ticket
        self.holder = holder
        self.enqueuedAt = enqueuedAt
        self.heartbeatAt = heartbeatAt
    }
}
