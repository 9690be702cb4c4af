/// One row of `list`: a session (or a login in flight) as people and scripts see it. Never a token.
public struct SessionListing: Sendable, Equatable {
    /// The state shown to people, derived from the registry row, its leases and claims.
    public enum State: String, Sendable, CaseIterable {
        case idle
        case leased
        case refreshing
        /// A login reservation: the session has no id at the IAM yet (`id` is the reservation's).
        case loggingIn = "logging-in"
        case loggingOut = "logging-out"
    }

    /// The IAM's `session_state`, or the login reservation's id for `loggingIn`.
    public var id: String
    public var account: AccountKey
    /// nil for a login in flight.
    public var clientID: String?
    public var state: State
    /// Epoch seconds; for a login in flight, when it started.
    public var createdAt: Double
    public var lastUsedAt: Double?
    public var accessExpiresAt: Double?
    public var refreshExpiresAt: Double?
    /// Expiry of the newest access token handed out from this session.
    public var handedOutUntil: Double?
    /// The leases on this session (several only for shared leases), oldest first.
    public var leases: [LeaseListing]

    public init(
        id: String, account: AccountKey, clientID: String?, state: State, createdAt: Double, lastUsedAt: Double?,
        accessExpiresAt: Double?, refreshExpiresAt: Double?, handedOutUntil: Double?, leases: [LeaseListing]
    ) {
        self.id = id
        self.account = account
        self.clientID = clientID
        self.state = state
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.accessExpiresAt = accessExpiresAt
        self.refreshExpiresAt = refreshExpiresAt
        self.handedOutUntil = handedOutUntil
        self.leases = leases
    }

    /// The state of a session row: logging out, then refreshing (a live claim), then leased, else idle.
    public static func state(of session: SessionRecord, leased: Bool, now: Double) -> State {
        if session.state == .loggingOut { return .loggingOut }
        if session.refreshClaim != nil, (session.refreshClaimUntil ?? 0) > now { return .refreshing }
        return leased ? .leased : .idle
    }
}

/// A lease held now, with its holder.
public struct LeaseListing: Sendable, Equatable {
    public var id: String
    public var sessionID: String
    public var account: AccountKey
    public var shared: Bool
    public var holder: HolderIdentity
    public var acquiredAt: Double
    /// The hold time's end; renewed by the holder's heartbeat.
    public var expiresAt: Double
    /// False when the holder is gone: the next caller (or `prune`) reclaims the lease.
    public var holderAlive: Bool

    public init(
        id: String, sessionID: String, account: AccountKey, shared: Bool, holder: HolderIdentity, acquiredAt: Double,
        expiresAt: Double, holderAlive: Bool
    ) {
        self.id = id
        self.sessionID = sessionID
        self.account = account
        self.shared = shared
        self.holder = holder
        self.acquiredAt = acquiredAt
        self.expiresAt = expiresAt
        self.holderAlive = holderAlive
    }
}

/// A caller waiting for a session, in queue order.
public struct WaiterListing: Sendable, Equatable {
    public var ticket: Int64
    public var account: AccountKey
    public var holder: HolderIdentity
    public var enqueuedAt: Double
    /// False when the waiter stopped polling or its process is gone (it is dropped at the next decision).
    public var alive: Bool

    public init(ticket: Int64, account: AccountKey, holder: HolderIdentity, enqueuedAt: Double, alive: Bool) {
        self.ticket = ticket
        self.account = account
        self.holder = holder
        self.enqueuedAt = enqueuedAt
        self.alive = alive
    }
}

/// One line of the event log with the account it belongs to.
public struct EventListing: Sendable, Equatable {
    public var event: EventRecord
    /// nil for events not tied to an account.
    public var account: AccountKey?

    public init(event: EventRecord, account: AccountKey?) {
        self.event = event
        self.account = account
    }
}
