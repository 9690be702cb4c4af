import Foundation

/// Admin operations over the registry: listings, status and the event log (reads), and `revoke` and
/// `prune` (logouts). A logout is always: one write transaction that claims the session
/// (`logging_out`), commit, then `POST logout`, then a short transaction that drops the row on 204.
extension SessionPool {
    // MARK: - Reading

    /// The sessions of one account (nil: every account), oldest first, then the logins in flight.
    /// Derived states: idle, leased, refreshing, logging-in, logging-out. Never a token.
    public func listSessions(account key: AccountKey? = nil) throws -> [SessionListing] {
        let now = clock.now()
        return try readRegistry { tx in
            var rows: [SessionListing] = []
            for record in try accountsInScope(tx, key) {
                guard let snapshot = try tx.snapshot(accountID: record.id) else { continue }
                rows += listing(of: snapshot, now: now)
            }
            return rows
        }
    }

    /// The leases held now and the callers waiting (queue order), for one account or all.
    public func listLeases(account key: AccountKey? = nil) throws -> (leases: [LeaseListing], waiting: [WaiterListing]) {
        let now = clock.now()
        return try readRegistry { tx in
            var leases: [LeaseListing] = []
            var waiting: [WaiterListing] = []
            for record in try accountsInScope(tx, key) {
                guard let snapshot = try tx.snapshot(accountID: record.id) else { continue }
                leases += leaseListings(snapshot)
                for waiter in snapshot.waiters {
                    let fresh: Bool = now - waiter.heartbeatAt < scheduler.policy.waiterTimeout
                    let alive: Bool = fresh && scheduler.liveness.isAlive(waiter.holder)
                    waiting.append(WaiterListing(
                        ticket: waiter.ticket, account: record.key, holder: waiter.holder, enqueuedAt: waiter.enqueuedAt,
                        alive: alive))
                }
            }
            return (leases, waiting)
        }
    }

    /// Per account: limit, reserve, sessions by state, waiting callers, the last hour's logins,
    /// refreshes and logouts, the last error and the effective capacity; plus the registry's
    /// location, schema version and key source.
    public func status(account key: AccountKey? = nil) throws -> RegistryStatus {
        let now = clock.now()
        let accounts = try readRegistry { tx in
            try accountsInScope(tx, key).compactMap { record -> AccountStatus? in
                guard let snapshot = try tx.snapshot(accountID: record.id) else { return nil }
                var byState: [SessionListing.State: Int] = [:]
                for state in SessionListing.State.allCases { byState[state] = 0 }
                for row in listing(of: snapshot, now: now) { byState[row.state, default: 0] += 1 }
                let counts = try tx.eventCounts(since: now - 3600, accountID: record.id)
                let capacity: Int = scheduler.capacity(record)
                var effectiveCapacity: Int?
                if let measured = record.effectiveCapacity, measured < capacity { effectiveCapacity = measured }
                var loginBlockedUntil: Double?
                if let until = record.loginBlockedUntil, until > now { loginBlockedUntil = until }
                return AccountStatus(
                    account: record.key, limit: record.sessionLimit, reserve: record.reserve, sessions: byState,
                    waiting: scheduler.housekeeping(snapshot, now: now).tidied.waiters.count,
                    loginsLastHour: Self.count(counts, [.login]), refreshesLastHour: Self.count(counts, [.refresh]),
                    logoutsLastHour: Self.count(counts, [.logout, .revoke]), lastError: try tx.lastError(accountID: record.id),
                    effectiveCapacity: effectiveCapacity,
                    loginBlockedUntil: loginBlockedUntil,
                    accessLifetime: record.accessLifetime)
            }
        }
        return RegistryStatus(
            location: registry.location, schemaVersion: registry.schemaVersion, keySource: registry.keySource,
            accounts: accounts)
    }

    /// Events at or after `since` (epoch seconds) and after `afterID` (to follow the log: pass the
    /// last id seen), oldest first, at most the newest `limit`.
    public func events(since: Double, account key: AccountKey? = nil, afterID: Int64? = nil, limit: Int = 1000) throws
        -> [EventListing]
    {
        try readRegistry { tx in
            let accounts = try tx.accounts()
            let keys = Dictionary(uniqueKeysWithValues: accounts.map { ($0.id, $0.key) })
            var accountID: Int64?
            if let key {
                guard let found = accounts.first(where: { $0.key == key }) else { return [] }
                accountID = found.id
            }
            return try tx.events(since: since, accountID: accountID, afterID: afterID, limit: limit).map { event in
                EventListing(event: event, account: event.accountID.flatMap { keys[$0] })
            }
        }
    }

    // MARK: - Logging out

    /// Logs sessions out at the IAM and removes them from the registry: the ids given (in any
    /// account), or the idle or all sessions of one account (nil: every account). A leased session,
    /// or one whose handed-out token is still valid, is left alone unless `force`. A session the IAM
    /// already forgot counts as revoked. Dead holders' leases are reclaimed first.
    public func revoke(
        _ selection: RevokeSelection, account key: AccountKey?, force: Bool, label: String, resolve: AccountResolver
    ) async throws -> [AdminOutcome] {
        let now = clock.now()
        let wanted: Set<String>?
        if case .ids(let ids) = selection { wanted = Set(ids) } else { wanted = nil }
        // The closure returns what it found rather than mutating captured state: simpler to read,
        // and the compiler's capture analysis of async functions copes with it.
        let claimed: (victims: [AdminVictim], outcomes: [AdminOutcome]) = try writeRegistry { tx in
            var victims: [AdminVictim] = []
            var outcomes: [AdminOutcome] = []
            let records: [AccountRecord] = wanted == nil ? try accountsInScope(tx, key) : try tx.accounts()
            for record in records {
                guard let (state, _) = try tidySnapshot(tx, accountID: record.id, now: now) else { continue }
                for session in state.sessions.sorted(by: Self.byCreation) {
                    switch selection {
                    case .ids: if wanted?.contains(session.id) != true { continue }
                    case .idle: if !scheduler.isIdle(session, in: state, now: now) { continue }
                    case .all: break
                    }
                    if !force, let blocker = scheduler.revocationBlocker(session, in: state, now: now) {
                        outcomes.append(AdminOutcome(
                            sessionID: session.id, account: record.key, result: .needsForce,
                            message: "\(blocker); pass --force to revoke it anyway"))
                        continue
                    }
                    switch try claimForLogout(tx, session: session, account: record, reason: nil, now: now, resolve: resolve) {
                    case .victim(let victim): victims.append(victim)
                    case .refused(let outcome): outcomes.append(outcome)
                    }
                }
            }
            return (victims, outcomes)
        }
        let victims = claimed.victims
        var outcomes = claimed.outcomes
        if case .ids(let ids) = selection {
            let seen = Set(outcomes.map(\.sessionID) + victims.map(\.sessionID))
            for id in ids where !seen.contains(id) {
                outcomes.append(AdminOutcome(sessionID: id, account: nil, result: .notFound,
                                             message: "no session \(id) in the registry"))
            }
        }
        return outcomes + (await logOut(victims, kind: .revoke, detail: "revoked by \(label)"))
    }

    /// Housekeeping safe to run from cron: reclaims dead leases (and the rest of the scheduler's
    /// housekeeping), retries unconfirmed logouts, logs out sessions whose refresh token expired and
    /// sessions unused for more than `idleTimeout` seconds — never a leased session, one being
    /// refreshed, or one whose handed-out access token is still valid.
    public func prune(idleTimeout: Double, account key: AccountKey?, resolve: AccountResolver) async throws -> PruneReport {
        let now = clock.now()
        typealias Reconcile = (accountID: Int64, configuration: AccountConfiguration, loginIDs: [String], accessToken: String)
        let claimed: (victims: [AdminVictim], report: PruneReport, reconciles: [Reconcile]) = try writeRegistry { tx in
            var victims: [AdminVictim] = []
            var reconciles: [Reconcile] = []
            var report = PruneReport()
            for record in try accountsInScope(tx, key) {
                guard let (state, changes) = try tidySnapshot(tx, accountID: record.id, now: now) else { continue }
                // Lost logins are settled through the account API now, not after the idle timeout.
                if case .reconcile(let loginIDs, let via)? = scheduler.reconcileAction(state, now: now, ignoringInterval: true),
                   let probe = state.sessions.first(where: { $0.id == via }),
                   let configuration = try? resolve(record.key, probe.clientID),
                   let token = try? openAccessToken(tx: tx, sessionID: via)
                {
                    try tx.setReconciled(accountID: record.id, at: now)
                    reconciles.append((record.id, configuration, loginIDs, token))
                }
                for change in changes {
                    if case .deleteLease(let id, let sessionID, let reason) = change {
                        report.reclaimedLeases.append((id, sessionID, reason))
                    } else {
                        report.otherHousekeeping += 1
                    }
                }
                let chosen = scheduler.pruneVictims(state, idleTimeout: idleTimeout, now: now)
                let protected = scheduler.pruneVictims(
                    state, idleTimeout: idleTimeout, now: now, ignoringHandedOutTokens: true)
                report.protectedByHandedOutToken += protected.count - chosen.count
                for (sessionID, reason) in chosen {
                    guard let session = state.sessions.first(where: { $0.id == sessionID }) else { continue }
                    switch try claimForLogout(tx, session: session, account: record, reason: reason, now: now, resolve: resolve) {
                    case .victim(let victim): victims.append(victim)
                    case .refused(let outcome): report.sessions.append(outcome)
                    }
                }
            }
            return (victims, report, reconciles)
        }
        var report = claimed.report
        // Before the logouts: the probe session may be one of the victims.
        for job in claimed.reconciles {
            report.otherHousekeeping += await performReconcile(
                accountID: job.accountID, account: job.configuration, loginIDs: job.loginIDs, accessToken: job.accessToken)
        }
        report.sessions += await logOut(claimed.victims, kind: .logout, detail: "pruned")
        return report
    }

    // MARK: - Internals

    /// `POST logout`; true when the IAM said it had already ended the session (which counts as done).
    static func logOutAtIAM(_ provider: any IdentityProvider, refreshToken: String) async throws -> Bool {
        do {
            try await provider.logout(refreshToken: refreshToken)
            return false
        } catch where error.kind == .sessionDead {
            return true
        }
    }

    static func count(_ counts: [String: Int], _ kinds: [EventRecord.Kind]) -> Int {
        var total = 0
        for kind in kinds { total += counts[kind.rawValue] ?? 0 }
        return total
    }

    /// Oldest first; the id breaks ties so listings are stable.
    static func byCreation(_ lhs: SessionRecord, _ rhs: SessionRecord) -> Bool {
        lhs.createdAt != rhs.createdAt ? lhs.createdAt < rhs.createdAt : lhs.id < rhs.id
    }

    /// A session claimed for logout in the deciding transaction.
    struct AdminVictim: Sendable {
        var accountID: Int64
        var configuration: AccountConfiguration
        var sessionID: String
        var refreshToken: String
        var reason: PruneReason?
    }

    enum LogoutClaim {
        case victim(AdminVictim)
        case refused(AdminOutcome)
    }

    func accountsInScope(_ tx: RegistryReader, _ key: AccountKey?) throws -> [AccountRecord] {
        guard let key else { return try tx.accounts() }
        guard let record = try tx.account(key) else { return [] }
        return [record]
    }

    /// Applies the scheduler's housekeeping for an account and returns the tidied snapshot.
    func tidySnapshot(_ tx: RegistryWriter, accountID: Int64, now: Double) throws -> (AccountSnapshot, [Housekeeping])? {
        guard let snapshot = try tx.snapshot(accountID: accountID) else { return nil }
        let (changes, tidied) = scheduler.housekeeping(snapshot, now: now)
        for change in changes { try tx.apply(change, accountID: accountID, now: now) }
        return (tidied, changes)
    }

    func leaseListings(_ snapshot: AccountSnapshot) -> [LeaseListing] {
        snapshot.leases.sorted { $0.acquiredAt != $1.acquiredAt ? $0.acquiredAt < $1.acquiredAt : $0.id < $1.id }.map { lease in
            LeaseListing(
                id: lease.id, sessionID: lease.sessionID, account: snapshot.account.key, shared: lease.shared,
                holder: lease.holder, acquiredAt: lease.acquiredAt, expiresAt: lease.expiresAt,
                holderAlive: scheduler.liveness.isAlive(lease.holder))
        }
    }

    func listing(of snapshot: AccountSnapshot, now: Double) -> [SessionListing] {
        let key = snapshot.account.key
        let leases = leaseListings(snapshot)
        let sessions = snapshot.sessions.sorted(by: Self.byCreation).map { session in
            let held = leases.filter { $0.sessionID == session.id }
            return SessionListing(
                id: session.id, account: key, clientID: session.clientID,
                state: SessionListing.state(of: session, leased: !held.isEmpty, now: now), createdAt: session.createdAt,
                lastUsedAt: session.lastUsedAt, accessExpiresAt: session.accessExpiresAt,
                refreshExpiresAt: session.refreshExpiresAt, handedOutUntil: session.handedOutUntil, leases: held)
        }
        let logins = snapshot.logins.sorted { $0.startedAt < $1.startedAt }.map { login in
            SessionListing(
                id: login.id, account: key, clientID: nil, state: .loggingIn, createdAt: login.startedAt, lastUsedAt: nil,
                accessExpiresAt: nil, refreshExpiresAt: nil, handedOutUntil: nil, leases: [])
        }
        return sessions + logins
    }

    /// Marks a session `logging_out` (still counted) inside the deciding transaction, with what its
    /// logout needs. Local failures (settings, unsealing) leave the row untouched.
    func claimForLogout(
        _ tx: RegistryWriter, session: SessionRecord, account: AccountRecord, reason: PruneReason?, now: Double,
        resolve: AccountResolver
    ) throws -> LogoutClaim {
        let configuration: AccountConfiguration
        let refreshToken: String
        do {
            configuration = try resolve(account.key, session.clientID)
            refreshToken = try openRefreshToken(tx: tx, sessionID: session.id)
        } catch {
            let wrapped = OCPSessionsError.wrap(error)
            return .refused(AdminOutcome(
                sessionID: session.id, account: account.key, result: .failed, reason: reason, message: wrapped.message,
                errorKind: wrapped.kind))
        }
        try tx.markLoggingOut(sessionID: session.id, claimUntil: now + scheduler.policy.logoutClaimDuration, claimer: logoutClaimer)
        return .victim(AdminVictim(
            accountID: account.id, configuration: configuration, sessionID: session.id, refreshToken: refreshToken,
            reason: reason))
    }

    /// Logs each claimed session out (no transaction open) and drops its row once the IAM confirmed,
    /// or said it no longer knows the session. Anything else leaves the row `logging_out`, counted,
    /// for a later retry.
    func logOut(_ victims: [AdminVictim], kind: EventRecord.Kind, detail: String) async -> [AdminOutcome] {
        var outcomes: [AdminOutcome] = []
        for victim in victims {
            let key = victim.configuration.key
            do {
                let provider = try await provider(for: victim.configuration, accountID: victim.accountID)
                let alreadyEnded = try await Self.logOutAtIAM(provider, refreshToken: victim.refreshToken)
                let note = alreadyEnded ? "the IAM had already ended it" : "logged out"
                var parts: [String] = [detail]
                if let reason = victim.reason { parts.append(reason.rawValue) }
                if alreadyEnded { parts.append(note) }
                let event = EventRecord(
                    at: clock.now(), accountID: victim.accountID, kind: kind, sessionID: victim.sessionID,
                    pid: Int(getpid()), detail: parts.joined(separator: ": "))
                try writeRegistry { tx in
                    try tx.deleteSession(id: victim.sessionID)
                    try tx.appendEvent(event)
                }
                outcomes.append(AdminOutcome(sessionID: victim.sessionID, account: key, result: .revoked, reason: victim.reason,
                                             message: note))
            } catch {
                let wrapped = OCPSessionsError.wrap(error)
                let now = clock.now()
                _ = try? writeRegistry { tx in
                    try tx.appendEvent(EventRecord(
                        at: now, accountID: victim.accountID, kind: .error, sessionID: victim.sessionID, pid: Int(getpid()),
                        detail: "logout not confirmed, will retry: \(wrapped.message)"))
                }
                outcomes.append(AdminOutcome(
                    sessionID: victim.sessionID, account: key, result: .failed, reason: victim.reason,
                    message: "logout not confirmed (\(wrapped.message)); it stays counted as logging-out and is retried later",
                    errorKind: wrapped.kind))
            }
        }
        return outcomes
    }
}
