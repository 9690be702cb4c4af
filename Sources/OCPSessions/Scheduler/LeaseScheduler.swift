/// The lease scheduler's decisions, as a pure function of a registry snapshot, a request and `now`.
///
/// Nothing here touches SQLite, HTTP or a clock: the executor loads an `AccountSnapshot` inside a
/// write transaction, asks for a plan, applies the housekeeping and the action's registry writes in
/// that same transaction, and only then talks to the IAM. Tests drive every rule with a fake clock.
public struct LeaseScheduler: Sendable {
    public var policy: SchedulerPolicy
    public var liveness: any HolderLiveness

    public init(policy: SchedulerPolicy = SchedulerPolicy(), liveness: any HolderLiveness) {
        self.policy = policy
        self.liveness = liveness
    }

    // MARK: - Acquire

    /// Decides the next step of an acquire, in the order the design fixes:
    /// 1. an idle session with a valid enough access token (most recently used first);
    /// 2. an idle session to refresh;
    /// 3. a login, when sessions + logins in flight + logouts unconfirmed < limit - reserve, and
    ///    the sessions others hold at the IAM leave room (``loginGate(_:counted:now:)``);
    /// 4. at the limit, or when a login is blocked: log out sessions that cannot serve, prove lost
    ///    logins gone;
    /// 5. otherwise wait, first come first served.
    public func decide(_ snapshot: AccountSnapshot, _ request: AcquireRequest, now: Double) -> SchedulerPlan {
        let (housekeeping, state) = tidy(snapshot, now: now)

        // First come, first served: a caller never overtakes an older live waiter.
        let olderWaiters = state.waiters.filter { waiter in
            guard let ticket = request.ticket else { return true }
            return waiter.ticket < ticket
        }
        if !olderWaiters.isEmpty {
            return SchedulerPlan(housekeeping: housekeeping, action: .wait(.queued))
        }

        let available = state.sessions.filter { isLeasable($0, in: state, shared: request.shared, now: now) }
        // Sharing concentrates on sessions already shared, so the others can idle out.
        let ordered = available.sorted { lhs, rhs in
            if request.shared {
                let lhsShared = state.leases.contains { $0.sessionID == lhs.id }
                let rhsShared = state.leases.contains { $0.sessionID == rhs.id }
                if lhsShared != rhsShared { return lhsShared }
            }
            return (lhs.lastUsedAt, lhs.id) > (rhs.lastUsedAt, rhs.id)
        }
        let fresh = ordered.filter { !isStale($0, now: now) }
        if let session = fresh.first(where: { $0.accessExpiresAt - now >= request.minValidity }) {
            return SchedulerPlan(housekeeping: housekeeping, action: .use(sessionID: session.id))
        }
        if let session = fresh.first {
            return SchedulerPlan(housekeeping: housekeeping, action: .refresh(sessionID: session.id))
        }

        let account = state.account
        let counted = state.sessions.count + state.logins.count
        // A blocked login leaves the caller where a full account does: rule 4 must still run, since
        // only a logout removes a session row and only a reconcile or the idle timeout a lost login.
        var blocked: WaitReason?
        if counted < capacity(account) {
            switch loginGate(state, counted: counted, now: now) {
            case .open:
                return SchedulerPlan(housekeeping: housekeeping, action: .login)
            case .census(let probe):
                let lost = state.logins.filter { $0.state == .unknown }.map(\.id)
                return SchedulerPlan(housekeeping: housekeeping, action: .reconcile(loginIDs: lost, viaSession: probe))
            case .closed(let reason):
                blocked = reason  // nil: at the capacity the IAM allows, which is the limit.
            }
        }

        // At the limit: free what cannot serve. Stale sessions make room for a login only when one
        // may follow; during a login block they serve instead.
        let loginAllowed = account.loginBlockedUntil.map { now >= $0 } ?? true
        let victims = logoutVictims(state, now: now, includeStale: loginAllowed)
        if !victims.isEmpty {
            return SchedulerPlan(housekeeping: housekeeping, action: .logout(sessionIDs: victims))
        }
        // A stale but still usable session serves before nothing does.
        if let session = ordered.first(where: { $0.accessExpiresAt - now >= request.minValidity }) {
            return SchedulerPlan(housekeeping: housekeeping, action: .use(sessionID: session.id))
        }
        if let session = ordered.first {
            return SchedulerPlan(housekeeping: housekeeping, action: .refresh(sessionID: session.id))
        }
        if let reconcile = reconcileAction(state, now: now) {
            return SchedulerPlan(housekeeping: housekeeping, action: reconcile)
        }
        let refreshing = state.sessions.contains { $0.refreshClaim != nil && $0.state == .active }
        return SchedulerPlan(
            housekeeping: housekeeping, action: .wait(blocked ?? (refreshing ? .refreshInProgress : .atLimit)))
    }

    /// Slots we may fill: the most conservative of the configured limit and reserve.
    public func capacity(_ account: AccountRecord) -> Int {
        max(0, account.sessionLimit - account.reserve)
    }

    /// Whether a login may start when our own count leaves room.
    public enum LoginGate: Sendable, Equatable {
        case open
        /// First ask the account API, with this session's access token, how many sessions others hold.
        case census(viaSession: String)
        /// No login now; nil means the IAM is full (the sessions others hold take the rest).
        case closed(WaitReason?)
    }

    /// Sessions that others hold at the IAM (a browser, another tool) count toward its limit. A
    /// login past the limit is refused and counted as a failed login for brute-force detection
    /// ("deny"), or evicts the least recently used session, possibly one of ours in use
    /// ("terminate oldest"). So before a login the user's sessions are counted through the account
    /// API, with the token of a session we hold, at most every `reconcileInterval`. Without a count
    /// (we hold no session yet, or the user lacks the account roles) logins go one at a time, so
    /// the first can count for the rest and at most one is refused at once; limiter denials are
    /// then the only signal, and ``loginBlock(_:counted:now:)`` spaces the attempts.
    public func loginGate(_ state: AccountSnapshot, counted: Int, now: Double) -> LoginGate {
        let account = state.account
        let apiUsable = account.accountAPIRefusedUntil.map { now >= $0 } ?? true
        let censusTried = account.foreignCountedAt.map { now - $0 < policy.reconcileInterval } ?? false
        if apiUsable && !censusTried, let probe = probeSession(state, now: now) {
            if let asked = account.lastReconcileAt, now - asked < policy.censusClaimDuration {
                return .closed(.loginInProgress)
            }
            return .census(viaSession: probe)
        }
        if censusTried && account.foreignSessions != nil {
            if let effective = account.effectiveCapacity, counted >= effective { return .closed(nil) }
        } else if state.logins.contains(where: { $0.state == .inFlight }) {
            // Not knowing what others hold, a login may be refused: one at a time, so that at most
            // one is refused at once (each refusal is a failed login for brute-force detection).
            return .closed(.loginInProgress)
        }
        switch loginBlock(account, counted: counted, now: now) {
        case nil: return .open
        case .atLimit: return .closed(nil)  // Full as far as we know: rule 4 says why callers wait.
        case let reason: return .closed(reason)
        }
    }

    /// The session whose access token asks the account API: active, and valid longer than the call
    /// takes: 2 s, or a quarter of the access token's lifetime when the IAM issues shorter ones (2 s
    /// tokens would never qualify).
    func probeSession(_ state: AccountSnapshot, now: Double) -> String? {
        let margin = min(2, (state.account.accessLifetime ?? 8) / 4)
        return state.sessions
            .filter { $0.state == .active && $0.accessExpiresAt - now > margin }
            .max { ($0.accessExpiresAt, $0.id) < ($1.accessExpiresAt, $1.id) }?.id
    }

    /// Limiter denials count as failed logins for brute-force detection, so after one the account
    /// gets no login attempt for `loginBlockAfterDenial`; beyond the capacity the IAM last allowed:
    /// - after `maxConsecutiveDenials` in a row, one more attempt once an idle timeout has passed
    ///   since the last denial (the foreign sessions may have idled out);
    /// - after `denialBudget` in a row, none until Keycloak's failure reset time has passed since
    ///   the last one: that keeps the failures it counts below a lockout threshold of 5.
    /// A successful login ends the streak, and a census that shows room lets a login through.
    func loginBlock(_ account: AccountRecord, counted: Int, now: Double) -> WaitReason? {
        if let until = account.loginBlockedUntil, now < until { return .loginBlocked(until: until) }
        guard account.consecutiveDenials >= policy.maxConsecutiveDenials, let effective = account.effectiveCapacity,
              counted >= effective
        else { return nil }
        let lastDenial = (account.loginBlockedUntil ?? now) - policy.loginBlockAfterDenial
        let forgotten = lastDenial + policy.failureResetTime
        if now >= forgotten { return nil }
        // The IAM is full as far as we know: callers wait as at the limit.
        if account.consecutiveDenials >= policy.denialBudget { return .atLimit }
        let idle = account.idleTimeout.map { $0 + policy.idleGrace } ?? policy.defaultIdleTimeout
        return now - lastDenial < idle ? .atLimit : nil
    }

    // MARK: - Renewal of a held lease

    /// What the holder of `lease` does to get a token valid `minValidity` more seconds.
    public func renew(
        session: SessionRecord?, lease: LeaseRecord, minValidity: Double, force: Bool = false, now: Double
    ) -> RenewalDecision {
        guard let session, session.state == .active else { return .replace }
        if let claim = session.refreshClaim, claim != lease.id,
            let until = session.refreshClaimUntil, until > now
        {
            // A peer holds the claim. Its fresher token, once written back, is adopted.
            return session.accessExpiresAt - now >= minValidity && !force ? .current : .waitForPeer
        }
        if !force && session.accessExpiresAt - now >= minValidity { return .current }
        if let refreshEnd = session.refreshExpiresAt, refreshEnd - now < policy.refreshMargin { return .replace }
        return .refresh
    }

    // MARK: - Housekeeping

    /// The housekeeping every decision starts with (dead or expired leases, stale waiters, lost
    /// logins, lapsed refresh claims), and the snapshot as it reads once those changes are applied.
    /// Admin operations (`prune`, `revoke`, `list`) use it so the rules live in one place.
    public func housekeeping(_ snapshot: AccountSnapshot, now: Double) -> (changes: [Housekeeping], tidied: AccountSnapshot) {
        tidy(snapshot, now: now)
    }

    /// A snapshot with dead holders, stale waiters, lost logins and lapsed claims dealt with.
    func tidy(_ snapshot: AccountSnapshot, now: Double) -> ([Housekeeping], AccountSnapshot) {
        var changes: [Housekeeping] = []
        var state = snapshot

        state.leases = snapshot.leases.filter { lease in
            if !liveness.isAlive(lease.holder) {
                changes.append(.deleteLease(id: lease.id, sessionID: lease.sessionID, reason: .holderDead))
                return false
            }
            if lease.expiresAt <= now {
                changes.append(.deleteLease(id: lease.id, sessionID: lease.sessionID, reason: .holdExpired))
                return false
            }
            return true
        }
        state.waiters = snapshot.waiters.filter { waiter in
            let alive = liveness.isAlive(waiter.holder) && now - waiter.heartbeatAt < policy.waiterTimeout
            if !alive { changes.append(.deleteWaiter(ticket: waiter.ticket)) }
            return alive
        }
        let idle = (snapshot.account.idleTimeout.map { $0 + policy.idleGrace }) ?? policy.defaultIdleTimeout
        state.logins = snapshot.logins.compactMap { login in
            var login = login
            if login.state == .inFlight && !liveness.isAlive(login.holder) {
                changes.append(.markLoginUnknown(id: login.id))
                login.state = .unknown
            }
            // The session such a login may have created has idled out at the IAM by now.
            if login.state == .unknown && now - login.startedAt > idle {
                changes.append(.deleteLogin(id: login.id))
                return nil
            }
            return login
        }
        state.sessions = snapshot.sessions.map { session in
            var session = session
            if session.state == .loggingOut, let claimer = session.logoutClaimer,
               let until = session.logoutClaimUntil, until > now, !liveness.isAlive(claimer)
            {
                changes.append(.releaseLogoutClaim(sessionID: session.id))
                session.logoutClaimUntil = now
            }
            if let claim = session.refreshClaim {
                let claimant = state.leases.first { $0.id == claim }
                let lapsed = (session.refreshClaimUntil ?? 0) <= now
                if claimant == nil || lapsed {
                    changes.append(.clearRefreshClaim(sessionID: session.id))
                    session.refreshClaim = nil
                    session.refreshClaimUntil = nil
                }
            }
            return session
        }
        return (changes, state)
    }

    /// Can a new lease of this kind go on `session` now?
    func isLeasable(_ session: SessionRecord, in state: AccountSnapshot, shared: Bool, now: Double) -> Bool {
        guard session.state == .active, session.refreshClaim == nil else { return false }
        if let refreshEnd = session.refreshExpiresAt, refreshEnd - now < policy.refreshMargin {
            return false
        }
        let leases = state.leases.filter { $0.sessionID == session.id }
        return shared ? leases.allSatisfy(\.shared) : leases.isEmpty
    }

    /// Close to the end of its refresh life (idle or the IAM's maximum session life).
    func isStale(_ session: SessionRecord, now: Double) -> Bool {
        guard let refreshEnd = session.refreshExpiresAt else { return false }
        return refreshEnd - now < policy.staleWindow
    }

    /// Unleased sessions that cannot serve: refresh token expired (logout still answers 204 and
    /// clears the session), stale ones whose handed-out token has expired (when `includeStale`), and
    /// logouts to retry.
    func logoutVictims(_ state: AccountSnapshot, now: Double, includeStale: Bool = true) -> [String] {
        state.sessions.filter { session in
            guard !state.leases.contains(where: { $0.sessionID == session.id }) else { return false }
            switch session.state {
            case .loggingOut:
                return (session.logoutClaimUntil ?? 0) <= now
            case .active:
                guard session.refreshClaim == nil, let refreshEnd = session.refreshExpiresAt else { return false }
                if refreshEnd - now < policy.refreshMargin { return true }
                return includeStale && isStale(session, now: now) && session.handedOutUntil <= now
            }
        }
        .map(\.id)
    }

    /// Logins of unknown outcome hold slots; a live session's token can ask the account API whether
    /// they created a session. One process asks at a time, every `reconcileInterval` at most
    /// (`prune` asks when run, `ignoringInterval`).
    ///
    /// Never while a live login is in flight: the session it may already have created at the IAM is
    /// not in the registry yet and looks exactly like an orphan of a lost login, so ending "orphans"
    /// then could end a session about to be handed out: a dead token for its caller.
    public func reconcileAction(_ state: AccountSnapshot, now: Double, ignoringInterval: Bool = false) -> SchedulerAction? {
        let lost = state.logins.filter { $0.state == .unknown }.map(\.id)
        guard !lost.isEmpty, !state.logins.contains(where: { $0.state == .inFlight }) else { return nil }
        if !ignoringInterval, let last = state.account.lastReconcileAt, now - last < policy.reconcileInterval { return nil }
        guard let probe = probeSession(state, now: now) else { return nil }
        return .reconcile(loginIDs: lost, viaSession: probe)
    }
}
