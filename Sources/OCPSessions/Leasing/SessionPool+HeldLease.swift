import Foundation

/// Tokens for a lease another process holds (`exec`'s children call `token --lease`).
///
/// Unlike `attach` + `Lease.token`, this never takes the lease over: when the session behind the
/// lease died, the holder (which has the password) replaces it under the same lease id, and this
/// waits for it. It may refresh (under the refresh claim, like any holder), so it needs no password.
extension SessionPool {
    /// The account and client id of the session behind a lease, or nil when there is no such lease.
    public func leaseAccount(leaseID: String) throws -> (account: AccountKey, clientID: String)? {
        try readRegistry { tx in
            guard let lease = try tx.lease(id: leaseID), let accountID = try tx.accountID(ofSession: lease.sessionID),
                  let snapshot = try tx.snapshot(accountID: accountID),
                  let session = snapshot.sessions.first(where: { $0.id == lease.sessionID })
            else { return nil }
            return (snapshot.account.key, session.clientID)
        }
    }

    enum HeldStep {
        case current(LeaseToken)
        case refresh(accountID: Int64, configuration: AccountConfiguration, sessionID: String, refreshToken: String, version: Int)
        case wait
        case missing
        case holderGone
    }

    /// An access token valid `minValidity` more seconds for the lease `leaseID`, held by another live
    /// process: the stored one, a peer's fresher one, or one this call refreshes. Waits (up to
    /// `waitTimeout`) while the holder replaces a dead session.
    public func heldLeaseToken(
        leaseID: String, minValidity: Double, forceRefresh: Bool = false, waitTimeout: Double, resolve: AccountResolver
    ) async throws -> LeaseToken {
        let started = clock.monotonic()
        let deadline = started + waitTimeout
        // A lease briefly missing is being replaced by its holder; longer, the holder has ended.
        var patience = min(waitTimeout, 2.0)
        var missingSince: Double?
        var force = forceRefresh
        var backoff = Backoff()
        while true {
            try Task.checkCancellation()
            let now = clock.now()
            let step: HeldStep = try writeRegistry { tx in
                guard let record = try tx.lease(id: leaseID), let accountID = try tx.accountID(ofSession: record.sessionID),
                      let snapshot = try tx.snapshot(accountID: accountID)
                else { return .missing }
                if let lifetime = snapshot.account.accessLifetime, !LeaseScheduler.canPromise(minValidity: minValidity, lifetime: lifetime) {
                    throw Self.unmeetable(minValidity: minValidity, lifetime: lifetime)
                }
                let session = snapshot.sessions.first { $0.id == record.sessionID }
                switch scheduler.renew(session: session, lease: record, minValidity: minValidity, force: force, now: now) {
                case .current:
                    guard let session else { return .wait }
                    try tx.touchSession(id: session.id, at: now, handedOutUntil: session.accessExpiresAt)
                    return .current(LeaseToken(
                        accessToken: try openAccessToken(tx: tx, sessionID: session.id), expiresAt: session.accessExpiresAt,
                        sessionID: session.id, leaseID: leaseID))
                case .refresh:
                    guard let session else { return .wait }
                    let configuration = try resolve(snapshot.account.key, session.clientID)
                    try tx.setRefreshClaim(sessionID: session.id, leaseID: leaseID,
                                           until: now + scheduler.policy.refreshClaimDuration)
                    return .refresh(accountID: accountID, configuration: configuration, sessionID: session.id,
                                    refreshToken: try openRefreshToken(tx: tx, sessionID: session.id), version: session.version)
                case .waitForPeer:
                    return .wait
                case .replace:
                    return scheduler.liveness.isAlive(record.holder) ? .wait : .holderGone
                }
            }
            let monotonic = clock.monotonic()
            switch step {
            case .current(let token):
                return token
            case .holderGone:
                throw OCPSessionsError(.leaseLost, "the process holding lease \(leaseID) has ended and its session cannot serve")
            case .missing:
                let since = missingSince ?? monotonic
                missingSince = since
                if monotonic - since >= patience || monotonic >= deadline {
                    throw OCPSessionsError(.leaseLost, "no lease \(leaseID) in the registry (has the exec that held it ended?)")
                }
                try await clock.sleep(seconds: 0.02)
                continue
            case .wait:
                if monotonic >= deadline {
                    throw OCPSessionsError(.timedOut, "lease \(leaseID): its holder did not renew the session in \(Int(waitTimeout.rounded()))s")
                }
                try await clock.sleep(seconds: 0.02)
            case .refresh(let accountID, let configuration, let sessionID, let refreshToken, let version):
                do {
                    if let grant = try await performRefresh(
                        accountID: accountID, account: configuration, sessionID: sessionID, leaseID: leaseID,
                        refreshToken: refreshToken, version: version, minValidity: minValidity, keepLease: true)
                    {
                        return LeaseToken(accessToken: grant.accessToken, expiresAt: grant.accessExpiresAt,
                                              sessionID: grant.sessionID, leaseID: leaseID)
                    }
                    // The session was dead; the holder will replace it under the same lease id.
                    patience = waitTimeout
                    force = false
                } catch let error as IdPError where error.isTransient {
                    try await backoff.wait(clock: clock, deadline: deadline, lastError: error)
                }
            }
            missingSince = nil
        }
    }
}
