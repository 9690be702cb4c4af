/// Builds the account configuration an admin operation needs to reach the IAM for an account found
/// in the registry (host, realm and username from the registry, the session's client id) — TLS,
/// client secret and scope come from the caller's settings. No password is needed for a logout.
public typealias AccountResolver = @Sendable (_ account: AccountKey, _ clientID: String) throws -> AccountConfiguration

/// Which sessions `revoke` logs out.
public enum RevokeSelection: Sendable, Equatable {
    /// These session ids, whatever their account.
    case ids([String])
    /// Every idle session (unleased, not being refreshed).
    case idle
    /// Every session.
    case all
}

/// What happened to one session in `revoke` or `prune`.
public struct AdminOutcome: Sendable, Equatable {
    public enum Result: String, Sendable {
        /// Logged out at the IAM (or the IAM had already ended it) and removed from the registry.
        case revoked
        /// No such session in the registry.
        case notFound = "not-found"
        /// Leased, or a handed-out token is still valid: left alone without `force`.
        case needsForce = "needs-force"
        /// The IAM did not confirm the logout; the row stays `logging-out` (still counted) and is
        /// retried later.
        case failed
    }

    public var sessionID: String
    /// nil when the session was not found.
    public var account: AccountKey?
    public var result: Result
    /// Why `prune` chose it; nil for `revoke`.
    public var reason: PruneReason?
    /// One line for people; never a token.
    public var message: String
    /// The failure's kind, for the exit code, when `result` is `failed`.
    public var errorKind: OCPSessionsError.Kind?

    public init(
        sessionID: String, account: AccountKey?, result: Result, reason: PruneReason? = nil, message: String = "",
        errorKind: OCPSessionsError.Kind? = nil
    ) {
        self.sessionID = sessionID
        self.account = account
        self.result = result
        self.reason = reason
        self.message = message
        self.errorKind = errorKind
    }
}

/// What `prune` did.
public struct PruneReport: Sendable, Equatable {
    /// Leases reclaimed from dead holders or past their hold time.
    public var reclaimedLeases: [(leaseID: String, sessionID: String, reason: Housekeeping.LeaseEnd)]
    /// Other housekeeping applied (dead waiters dropped, lost logins settled, lapsed claims cleared).
    public var otherHousekeeping: Int
    /// Sessions logged out, or whose logout failed.
    public var sessions: [AdminOutcome]
    /// Sessions left alone only because a token handed out from them is still valid.
    public var protectedByHandedOutToken: Int

    public init(
        reclaimedLeases: [(leaseID: String, sessionID: String, reason: Housekeeping.LeaseEnd)] = [],
        otherHousekeeping: Int = 0, sessions: [AdminOutcome] = [], protectedByHandedOutToken: Int = 0
    ) {
        self.reclaimedLeases = reclaimedLeases
        self.otherHousekeeping = otherHousekeeping
        self.sessions = sessions
        self.protectedByHandedOutToken = protectedByHandedOutToken
    }

    public static func == (lhs: PruneReport, rhs: PruneReport) -> Bool {
        lhs.reclaimedLeases.map { "\($0.leaseID)|\($0.sessionID)|\($0.reason)" }
            == rhs.reclaimedLeases.map { "\($0.leaseID)|\($0.sessionID)|\($0.reason)" }
            && lhs.otherHousekeeping == rhs.otherHousekeeping && lhs.sessions == rhs.sessions
            && lhs.protectedByHandedOutToken == rhs.protectedByHandedOutToken
    }
}
