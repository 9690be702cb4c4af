/// Registry writes that need no network: applied in the same transaction as the decision.
public enum Housekeeping: Sendable, Equatable {
    public enum LeaseEnd: String, Sendable { case holderDead = "holder dead", holdExpired = "hold time passed" }

    case deleteLease(id: String, sessionID: String, reason: LeaseEnd)
    case deleteWaiter(ticket: Int64)
    /// The login's holder died mid-request: a session may exist at the IAM.
    case markLoginUnknown(id: String)
    /// A login of unknown outcome whose possible session has passed the IAM's idle timeout.
    case deleteLogin(id: String)
    /// The refresher died or overran its claim.
    case clearRefreshClaim(sessionID: String)
    /// The process logging this session out died: its claim ends now, so the logout is retried.
    case releaseLogoutClaim(sessionID: String)
}

/// Why a caller has to wait.
public enum WaitReason: Sendable, Equatable {
    /// Older callers are waiting; first come, first served.
    case queued
    /// Every slot is taken by sessions in use, logins in flight or logouts not yet confirmed.
    case atLimit
    /// The IAM refused a login recently; no new login before this time.
    case loginBlocked(until: Double)
    /// A peer is refreshing the only usable session.
    case refreshInProgress
    /// A peer's login, or its count of the IAM's sessions, decides whether another login fits.
    case loginInProgress
}

/// What the caller's process does next.
public enum SchedulerAction: Sendable, Equatable {
    /// Lease this session: its access token is valid long enough.
    case use(sessionID: String)
    /// Lease this session and refresh it (the refresh claim is taken in the same transaction).
    case refresh(sessionID: String)
    /// Reserve a slot and log in.
    case login
    /// Log these sessions out first (they are claimed in the same transaction), then decide again.
    case logout(sessionIDs: [String])
    /// Ask the account API, with the access token of `viaSession`, for the user's sessions: to
    /// settle these logins of unknown outcome (maybe none) and to count the sessions others hold.
    case reconcile(loginIDs: [String], viaSession: String)
    case wait(WaitReason)
}

/// A decision: housekeeping to apply now, and the next action.
public struct SchedulerPlan: Sendable, Equatable {
    public var housekeeping: [Housekeeping]
    public var action: SchedulerAction

    public init(housekeeping: [Housekeeping] = [], action: SchedulerAction) {
        self.housekeeping = housekeeping
        self.action = action
    }
}

/// How a held lease gets a token good for `minValidity` more seconds.
public enum RenewalDecision: Sendable, Equatable {
    /// The stored access token is good enough (possibly refreshed by a peer: adopt it).
    case current
    /// Take the refresh claim and refresh.
    case refresh
    /// A live peer is refreshing; wait and read again.
    case waitForPeer
    /// The session cannot serve any more (gone, logging out, refresh token expired): replace it.
    case replace
}
