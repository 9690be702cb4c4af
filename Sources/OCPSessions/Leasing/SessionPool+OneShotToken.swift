import Foundation

extension SessionPool {
    /// What `acquireLease` followed at once by `release` hands out, at the least cost: when the
    /// scheduler's decision is to use a session whose stored token is valid long enough, the
    /// decision and its record take one write transaction and no network (`cachedToken`);
    /// anything else (a refresh, a login, a wait, `forceRefresh`) takes a lease and releases it.
    public func oneShotToken(account: AccountConfiguration, options: LeaseOptions) async throws -> LeaseToken {
        if !options.forceRefresh, let token = try cachedToken(account: account, options: options) { return token }
        let lease = try await acquireLease(account: account, options: options)
        let token = LeaseToken(
            accessToken: lease.accessToken, expiresAt: lease.expiresAt, sessionID: lease.sessionID, leaseID: lease.id)
        await lease.release()
        return token
    }

    /// The one-transaction half of `oneShotToken`, or nil when the decision needs more than the
    /// registry (the caller then takes the full path, which decides again).
    ///
    /// The same decision as `acquireLease` (the scheduler's, from the same request), recorded as an
    /// acquire and a release would leave it, less the lease row that the release deletes: the
    /// session's last use and handed-out expiry (so housekeeping never logs out a session whose
    /// printed token may be in use), and a `lease` and a `release` event. The row is not needed:
    /// the transaction holds the write lock, so no other process can see the session leased, and
    /// nothing outlives it that a holder would have to give back.
    public func cachedToken(account: AccountConfiguration, options: LeaseOptions) throws -> LeaseToken? {
        let holder = ProcessIdentity.current(label: options.label)
        let leaseID = Self.newID()
        let now = clock.now()
        let request = AcquireRequest(holder: holder, minValidity: options.minValidity, shared: options.shared)
        return try writeRegistry { tx -> LeaseToken? in
            let accountID = try tx.upsertAccount(
                account.key, limit: account.maxSessions, reserve: account.reserve, now: now).id
            guard let snapshot = try tx.snapshot(accountID: accountID) else { return nil }
            // An unmeetable --min-validity is reported by the full path, with its message.
            if let lifetime = snapshot.account.accessLifetime,
               !LeaseScheduler.canPromise(minValidity: options.minValidity, lifetime: lifetime) {
                return nil
            }
            let plan = scheduler.decide(snapshot, request, now: now)
            guard case .use(let sessionID) = plan.action,
                  let session = snapshot.sessions.first(where: { $0.id == sessionID })
            else { return nil }
            for change in plan.housekeeping { try tx.apply(change, accountID: accountID, now: now) }
            try tx.touchSession(id: sessionID, at: now, handedOutUntil: session.accessExpiresAt)
            for kind in [EventRecord.Kind.lease, .release] {
                try tx.appendEvent(EventRecord(at: now, accountID: accountID, kind: kind, sessionID: sessionID,
                                               leaseID: leaseID, pid: holder.pid, detail: holder.label))
            }
            return LeaseToken(
                accessToken: try openAccessToken(tx: tx, sessionID: sessionID), expiresAt: session.accessExpiresAt,
                sessionID: sessionID, leaseID: leaseID)
        }
    }
}
