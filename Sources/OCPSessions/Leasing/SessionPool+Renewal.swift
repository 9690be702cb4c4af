import Foundation

/// Held leases: fresh tokens on demand, heartbeat, release.
extension SessionPool {
    enum RenewalStep {
        case current(Grant)
        case refresh(sessionID: String, refreshToken: String, version: Int)
        case waitForPeer
        case replace(logout: [(sessionID: String, refreshToken: String)])
    }

    /// A token for a held lease, valid `minValidity` more seconds: the stored one, a peer's fresher
    /// one, a refreshed one, or, if the session died, one from another session under the same lease.
    func renew(lease: Lease, current: Grant, minValidity: Double, force: Bool) async throws -> Grant {
        let deadline = clock.monotonic() + lease.options.waitTimeout
        let forced = force
        var backoff = Backoff()
        while true {
            try Task.checkCancellation()
            let now = clock.now()
            let step: RenewalStep = try writeRegistry { tx in
                guard let record = try tx.lease(id: lease.id) else {
                    return .replace(logout: [])
                }
                let session = try tx.snapshot(accountID: lease.accountID)?.sessions.first { $0.id == record.sessionID }
                switch scheduler.renew(session: session, lease: record, minValidity: minValidity, force: forced, now: now) {
                case .current:
                    guard let session else { return .replace(logout: []) }
                    try tx.touchSession(id: session.id, at: now, handedOutUntil: session.accessExpiresAt)
                    return .current(Grant(sessionID: session.id, accessToken: try openAccessToken(tx: tx, sessionID: session.id),
                                          accessExpiresAt: session.accessExpiresAt))
                case .refresh:
                    guard let session else { return .replace(logout: []) }
                    try tx.setRefreshClaim(sessionID: session.id, leaseID: lease.id,
                                           until: now + scheduler.policy.refreshClaimDuration)
                    return .refresh(sessionID: session.id, refreshToken: try openRefreshToken(tx: tx, sessionID: session.id),
                                    version: session.version)
                case .waitForPeer:
                    return .waitForPeer
                case .replace:
                    try tx.deleteLease(id: lease.id)
                    guard let session, session.state == .active else { return .replace(logout: []) }
                    let others = try tx.snapshot(accountID: lease.accountID)?.leases.contains { $0.sessionID == session.id } ?? false
                    if others { return .replace(logout: []) }
                    try tx.markLoggingOut(sessionID: session.id, claimUntil: now + scheduler.policy.logoutClaimDuration, claimer: logoutClaimer)
                    return .replace(logout: [(session.id, try openRefreshToken(tx: tx, sessionID: session.id))])
                }
            }
            switch step {
            case .current(let grant):
                return grant
            case .waitForPeer:
                if clock.monotonic() >= deadline {
                    throw OCPSessionsError(.timedOut, "a peer's refresh of session \(current.sessionID) did not finish in time")
                }
                try await clock.sleep(seconds: 0.01)
            case .refresh(let sessionID, let refreshToken, let version):
                do {
                    if let grant = try await performRefresh(
                        accountID: lease.accountID, account: lease.account, sessionID: sessionID, leaseID: lease.id,
                        refreshToken: refreshToken, version: version, minValidity: minValidity, keepLease: true)
                    {
                        return grant
                    }
                    return try await reacquire(lease: lease, minValidity: minValidity, deadline: deadline)
                } catch let error as IdPError where error.isTransient {
                    try await backoff.wait(clock: clock, deadline: deadline, lastError: error)
                }
            case .replace(let victims):
                if !victims.isEmpty {
                    await performLogouts(accountID: lease.accountID, account: lease.account, victims: victims)
                }
                return try await reacquire(lease: lease, minValidity: minValidity, deadline: deadline)
            }
        }
    }

    /// Moves a lease whose session died to another session, keeping the lease id (so an `exec`'s
    /// children keep using `token --lease`).
    func reacquire(lease: Lease, minValidity: Double, deadline: Double) async throws -> Grant {
        var options = lease.options
        options.minValidity = minValidity
        options.forceRefresh = false
        return try await acquire(accountID: lease.accountID, account: lease.account, options: options,
                                 holder: lease.holder, leaseID: lease.id, deadline: deadline).grant
    }

    /// Ends a lease: the session goes back to the pool, or is logged out when `logout` is set.
    func release(lease: Lease, sessionID: String, logout: Bool) async {
        let now = clock.now()
        let victim: (String, String)? = try? writeRegistry { tx in
            let record = try tx.lease(id: lease.id)
            try tx.deleteLease(id: lease.id)
            let session = record?.sessionID ?? sessionID
            try tx.appendEvent(EventRecord(at: now, accountID: lease.accountID, kind: .release, sessionID: session,
                                           leaseID: lease.id, pid: lease.holder.pid, detail: lease.holder.label))
            guard logout, let snapshot = try tx.snapshot(accountID: lease.accountID),
                  let row = snapshot.sessions.first(where: { $0.id == session && $0.state == .active }),
                  !snapshot.leases.contains(where: { $0.sessionID == session && $0.id != lease.id })
            else {
                try tx.touchSession(id: session, at: now, handedOutUntil: 0)
                return nil
            }
            try tx.markLoggingOut(sessionID: row.id, claimUntil: now + scheduler.policy.logoutClaimDuration, claimer: logoutClaimer)
            return (row.id, try openRefreshToken(tx: tx, sessionID: row.id))
        } ?? nil
        if let victim {
            await performLogouts(accountID: lease.accountID, account: lease.account, victims: [victim])
        }
    }

    /// Heartbeat: pushes the hold time forward while the holder lives.
    func extend(lease: Lease) {
        let until = clock.now() + lease.options.maxHold
        _ = try? writeRegistry { try $0.extendLease(id: lease.id, until: until) }
    }
}

extension SessionPool {
    /// A handle on a lease another process holds (an `exec`), to get fresh tokens for it without
    /// taking a second lease. The handle neither heartbeats nor releases.
    public func attach(leaseID: String, account: AccountConfiguration, options: LeaseOptions) throws -> Lease {
        let found: (LeaseRecord, Int64, SessionRecord?)? = try readRegistry { tx in
            guard let record = try tx.lease(id: leaseID), let accountID = try tx.accountID(ofSession: record.sessionID)
            else { return nil }
            let session = try tx.snapshot(accountID: accountID)?.sessions.first { $0.id == record.sessionID }
            return (record, accountID, session)
        }
        guard let (record, accountID, session) = found else {
            throw OCPSessionsError(.leaseLost, "no lease \(leaseID) in the registry (has the exec that held it ended?)")
        }
        let grant = Grant(sessionID: record.sessionID, accessToken: "", accessExpiresAt: session?.accessExpiresAt ?? 0)
        return Lease(pool: self, account: account, accountID: accountID, options: options, holder: record.holder,
                     grant: grant, id: leaseID, heartbeat: false)
    }
}
