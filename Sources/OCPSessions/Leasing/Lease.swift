import Foundation
import Synchronization

/// A session handed to one caller (or shared by several, in shared mode) until `release()`.
///
/// The access token is refreshed on demand (`token(minValidity:)`), so a holder may keep a lease
/// for hours; a heartbeat renews the hold time while the holder lives. If the IAM kills the session,
/// the next `token` call moves the lease to another session without the caller seeing an error.
public final class Lease: Sendable {
    /// The lease id (stable for the life of the lease).
    public let id: String
    let pool: SessionPool
    let account: AccountConfiguration
    let accountID: Int64
    let options: LeaseOptions
    let holder: HolderIdentity
    private let state: Mutex<State>

    struct State {
        var grant: SessionPool.Grant
        var released = false
        var heartbeat: Task<Void, Never>?
    }

    init(pool: SessionPool, account: AccountConfiguration, accountID: Int64, options: LeaseOptions,
         holder: HolderIdentity, grant: SessionPool.Grant, id: String, heartbeat: Bool = true) {
        self.id = id
        self.pool = pool
        self.account = account
        self.accountID = accountID
        self.options = options
        self.holder = holder
        state = Mutex(State(grant: grant))
        if heartbeat { startHeartbeat() }
    }

    /// The access token handed out at acquire time (or at the last `token` call).
    public var accessToken: String { state.withLock { $0.grant.accessToken } }
    /// When `accessToken` expires, epoch seconds.
    public var expiresAt: Double { state.withLock { $0.grant.accessExpiresAt } }
    /// The IAM's session id (`session_state`) behind the lease.
    public var sessionID: String { state.withLock { $0.grant.sessionID } }
    public var isReleased: Bool { state.withLock { $0.released } }

    /// An access token valid at least `minValidity` more seconds (default: the lease's option),
    /// refreshing the session, or moving to another one, when needed.
    public func token(minValidity: Double? = nil, forceRefresh: Bool = false) async throws -> String {
        guard !isReleased else { throw OCPSessionsError(.leaseLost, "the lease was released") }
        let current = state.withLock { $0.grant }
        let grant = try await pool.renew(lease: self, current: current, minValidity: minValidity ?? options.minValidity,
                                         force: forceRefresh)
        state.withLock { $0.grant = grant }
        return grant.accessToken
    }

    /// Gives the session back to the pool (it is not logged out). Safe to call more than once.
    public func release() async {
        await finish(logout: false)
    }

    /// Releases and logs the session out at the IAM instead of returning it to the pool.
    public func releaseAndLogout() async {
        await finish(logout: true)
    }

    private func finish(logout: Bool) async {
        let heartbeat: Task<Void, Never>? = state.withLock { state in
            guard !state.released else { return nil }
            state.released = true
            defer { state.heartbeat = nil }
            return state.heartbeat ?? Task {}
        }
        guard let heartbeat else { return }
        heartbeat.cancel()
        await pool.release(lease: self, sessionID: sessionID, logout: logout)
    }

    /// Renews the hold time every third of it while the lease is held.
    private func startHeartbeat() {
        let interval = min(60, max(0.2, options.maxHold / 3))
        let task = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
                guard let self, !Task.isCancelled, !self.isReleased else { return }
                self.pool.extend(lease: self)
            }
        }
        state.withLock { $0.heartbeat = task }
    }
}
