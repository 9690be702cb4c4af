import Foundation

/// The lease executor: runs the scheduler's decisions against the registry and the IAM.
///
/// Every step is: one short write transaction that decides and records intent (a lease, a refresh
/// claim, a login reservation, a logout claim), commit, then the network request, then another
/// short transaction that records the outcome. No request is ever made while a write transaction
/// is open.
public final class SessionPool: Sendable {
    public let registry: any RegistryStore
    public let scheduler: LeaseScheduler
    let clock: any SessionClock
    let connector: any IdentityProviderConnector
    let providers = ProviderCache()

    public init(
        registry: any RegistryStore, connector: any IdentityProviderConnector,
        policy: SchedulerPolicy = SchedulerPolicy(), clock: any SessionClock = SystemClock(),
        liveness: any HolderLiveness = ProcessLiveness()
    ) {
        self.registry = registry
        self.connector = connector
        self.clock = clock
        scheduler = LeaseScheduler(policy: policy, liveness: liveness)
    }

    /// Shuts down the HTTP clients this pool created.
    public func shutdown() async {
        await providers.shutdown()
    }

    // MARK: - Acquire

    /// Hands out a lease on a session of `account` whose access token stays valid at least
    /// `options.minValidity` seconds: an idle session first, then a refreshed one, then a new
    /// login if the limit allows, else waits (first come, first served) up to `options.waitTimeout`.
    public func acquireLease(account: AccountConfiguration, options: LeaseOptions = LeaseOptions()) async throws -> Lease {
        let holder = ProcessIdentity.current(label: options.label)
        let leaseID = Self.newID()
        let deadline = clock.monotonic() + options.waitTimeout
        let (accountID, grant) = try await acquire(
            accountID: nil, account: account, options: options, holder: holder, leaseID: leaseID, deadline: deadline)
        return Lease(pool: self, account: account, accountID: accountID, options: options, holder: holder, grant: grant, id: leaseID)
    }

    /// Runs `body` with a lease and releases it on every path.
    public func withLease<T: Sendable>(
        account: AccountConfiguration, options: LeaseOptions = LeaseOptions(),
        _ body: (Lease) async throws -> T
    ) async throws -> T {
        let lease = try await acquireLease(account: account, options: options)
        do {
            let value = try await body(lease)
            await lease.release()
            return value
        } catch {
            await lease.release()
            throw error
        }
    }

    /// What a lease holds after an acquire or a renewal.
    struct Grant: Sendable {
        var sessionID: String
        var accessToken: String
        var accessExpiresAt: Double
    }

    /// Steps taken after a decision's transaction committed.
    enum Step {
        case granted(Grant)
        case refresh(sessionID: String, refreshToken: String, version: Int)
        case login(loginID: String)
        case logout([(sessionID: String, refreshToken: String)])
        case reconcile(loginIDs: [String], accessToken: String)
        case wait(WaitReason, AccountSnapshot)
        /// The IAM's token lifetime (known after a first login) cannot cover `minValidity`.
        case unmeetable(lifetime: Double)
    }

    /// Acquires for `account`, whose registry id is `accountID` when known (a lease moving to
    /// another session); nil registers the account in the first decision's transaction. Each pass
    /// of the loop is one write transaction (account, validity check, decision, its intent), so a
    /// warm acquire costs one `BEGIN IMMEDIATE ... COMMIT`.
    func acquire(
        accountID knownAccountID: Int64?, account: AccountConfiguration, options: LeaseOptions, holder: HolderIdentity,
        leaseID: String, deadline: Double
    ) async throws -> (accountID: Int64, grant: Grant) {
        var accountID = knownAccountID
        var ticket: Int64?
        // When this caller was first told to wait without a place in the queue (it spins first).
        var spinningSince: Double?
        var backoff = Backoff()
        var lastTransient: IdPError?
        defer {
            if let ticket { _ = try? writeRegistry { try $0.deleteWaiter(ticket: ticket) } }
        }
        while true {
            try Task.checkCancellation()
            let now = clock.now()
            let request = AcquireRequest(holder: holder, ticket: ticket, minValidity: options.minValidity, shared: options.shared)
            let monotonic = clock.monotonic()
            let (id, step): (Int64, Step) = try writeRegistry { tx in
                let id = try accountID ?? tx.upsertAccount(
                    account.key, limit: account.maxSessions, reserve: account.reserve, now: now).id
                guard let snapshot = try tx.snapshot(accountID: id) else {
                    throw OCPSessionsError(.configuration, "account \(account.key) vanished from the registry")
                }
                // Known only after a first login; checked again on every token the IAM issues.
                if let lifetime = snapshot.account.accessLifetime,
                   !LeaseScheduler.canPromise(minValidity: options.minValidity, lifetime: lifetime) {
                    return (id, .unmeetable(lifetime: lifetime))
                }
                let plan = scheduler.decide(snapshot, request, now: now)
                for change in plan.housekeeping { try tx.apply(change, accountID: id, now: now) }
                if case .wait = plan.action {} else if let held = ticket {
                    try tx.deleteWaiter(ticket: held)
                    ticket = nil
                }
                if case .wait(let reason) = plan.action, ticket == nil,
                   !scheduler.queues(reason, spinningSince: spinningSince, now: monotonic) {
                    return (id, .wait(reason, snapshot))
                }
                return (id, try record(plan.action, tx: tx, snapshot: snapshot, accountID: id, options: options,
                                       holder: holder, leaseID: leaseID, ticket: &ticket, now: now,
                                       force: options.forceRefresh, timeout: account.requestTimeout))
            }
            accountID = id
            switch step {
            case .granted(let grant):
                return (id, grant)
            case .unmeetable(let lifetime):
                throw Self.unmeetable(minValidity: options.minValidity, lifetime: lifetime)
            case .refresh(let sessionID, let refreshToken, let version):
                do {
                    if let grant = try await performRefresh(
                        accountID: id, account: account, sessionID: sessionID, leaseID: leaseID,
                        refreshToken: refreshToken, version: version, minValidity: options.minValidity)
                    {
                        return (id, grant)
                    }
                } catch let error as IdPError where error.isTransient {
                    lastTransient = error
                    try await backoff.wait(clock: clock, deadline: deadline, lastError: error)
                }
            case .login(let loginID):
                do {
                    // The reservation must survive a power loss before the IAM can create the session.
                    do {
                        try registry.makeCommitsDurable()
                    } catch {
                        _ = try? writeRegistry { try $0.deleteLogin(id: loginID) }
                        throw OCPSessionsError.wrap(error)
                    }
                    return (id, try await performLogin(
                        accountID: id, account: account, options: options, holder: holder, leaseID: leaseID,
                        loginID: loginID))
                } catch let error as IdPError where error.isTransient {
                    lastTransient = error
                    try await backoff.wait(clock: clock, deadline: deadline, lastError: error)
                } catch let error as IdPError where error.kind == .sessionLimitDenied {
                    // Recorded as a denial: the scheduler now holds logins back, and this caller
                    // waits for one of our own sessions like any other.
                    _ = error
                }
            case .logout(let victims):
                await performLogouts(accountID: id, account: account, victims: victims)
            case .reconcile(let loginIDs, let accessToken):
                await performReconcile(accountID: id, account: account, loginIDs: loginIDs, accessToken: accessToken)
            case .wait(let reason, let snapshot):
                if clock.monotonic() >= deadline {
                    if let lastTransient { throw OCPSessionsError.wrap(lastTransient) }
                    throw OCPSessionsError(.timedOut, WaitDescription.describe(
                        reason, snapshot: snapshot, scheduler: scheduler, waited: options.waitTimeout, now: clock.now()))
                }
                if ticket == nil, spinningSince == nil { spinningSince = monotonic }
                let waiting = AcquireRequest(holder: holder, ticket: ticket, minValidity: options.minValidity, shared: options.shared)
                // A spinning caller decides again when its spin is over, to take its place in the queue.
                let spinEnd = ticket == nil ? (spinningSince ?? monotonic) + LeaseScheduler.spinBeforeQueueing : deadline
                try await waitForTurn(accountID: id, request: waiting, until: min(deadline, spinEnd, clock.monotonic() + 0.05))
            }
        }
    }

    /// Records the decided action's intent inside the decision's transaction.
    func record(
        _ action: SchedulerAction, tx: RegistryWriter, snapshot: AccountSnapshot, accountID: Int64,
        options: LeaseOptions, holder: HolderIdentity, leaseID: String, ticket: inout Int64?, now: Double,
        force: Bool, timeout: Double
    ) throws -> Step {
        let lease = LeaseRecord(id: leaseID, sessionID: "", shared: options.shared, holder: holder,
                                acquiredAt: now, expiresAt: now + options.maxHold)
        switch action {
        case .use(let sessionID) where !force:
            var leased = lease
            leased.sessionID = sessionID
            try tx.insertLease(leased, accountID: accountID)
            let session = snapshot.sessions.first { $0.id == sessionID }
            let expiresAt = session?.accessExpiresAt ?? now
            try tx.touchSession(id: sessionID, at: now, handedOutUntil: expiresAt)
            try tx.appendEvent(EventRecord(at: now, accountID: accountID, kind: .lease, sessionID: sessionID,
                                           leaseID: leaseID, pid: holder.pid, detail: holder.label))
            let token = try openAccessToken(tx: tx, sessionID: sessionID)
            return .granted(Grant(sessionID: sessionID, accessToken: token, accessExpiresAt: expiresAt))
        case .use(let sessionID), .refresh(let sessionID):
            var leased = lease
            leased.sessionID = sessionID
            try tx.insertLease(leased, accountID: accountID)
            try tx.setRefreshClaim(sessionID: sessionID, leaseID: leaseID, until: now + scheduler.policy.refreshClaimDuration)
            try tx.appendEvent(EventRecord(at: now, accountID: accountID, kind: .lease, sessionID: sessionID,
                                           leaseID: leaseID, pid: holder.pid, detail: holder.label))
            let version = snapshot.sessions.first { $0.id == sessionID }?.version ?? 0
            return .refresh(sessionID: sessionID, refreshToken: try openRefreshToken(tx: tx, sessionID: sessionID),
                            version: version)
        case .login:
            let loginID = Self.newID()
            try tx.insertLogin(LoginRecord(id: loginID, holder: holder, startedAt: now, deadline: now + timeout),
                               accountID: accountID)
            return .login(loginID: loginID)
        case .logout(let sessionIDs):
            var victims: [(String, String)] = []
            for id in sessionIDs {
                try tx.markLoggingOut(sessionID: id, claimUntil: now + scheduler.policy.logoutClaimDuration, claimer: logoutClaimer)
                victims.append((id, try openRefreshToken(tx: tx, sessionID: id)))
            }
            return .logout(victims)
        case .reconcile(let loginIDs, let via):
            try tx.setReconciled(accountID: accountID, at: now)
            return .reconcile(loginIDs: loginIDs, accessToken: try openAccessToken(tx: tx, sessionID: via))
        case .wait(let reason):
            if let held = ticket {
                let beat = snapshot.waiters.first { $0.ticket == held }?.heartbeatAt ?? 0
                if scheduler.waiterNeedsHeartbeat(lastAt: beat, now: now) { try tx.heartbeatWaiter(ticket: held, now: now) }
            } else {
                ticket = try tx.enqueueWaiter(accountID: accountID, holder: holder, now: now)
            }
            return .wait(reason, snapshot)
        }
    }

    /// Sleeps until the decision for `request` may have changed, or until `until` (monotonic):
    /// expiries and dead holders need no commit to matter. When another process commits, a read
    /// (no write lock) runs the scheduler's decision on a snapshot, and only a decision other than
    /// waiting ends the sleep: a waiter then takes the write lock only to use what it found (or to
    /// renew its queue entry at `until`), not on every commit of its busy peers. Backends that cannot
    /// tell cheaply are polled on time alone.
    func waitForTurn(accountID: Int64, request: AcquireRequest, until: Double) async throws {
        guard var seen = registry.changeCounter() else {
            try await clock.sleep(seconds: Double.random(in: 0.004...0.020))
            return
        }
        var interval: Double?
        var changed = true
        // Place in the queue as last read (0: first); a spinning caller has none.
        var position: Int? = request.ticket == nil ? nil : 0
        while clock.monotonic() < until {
            let next = scheduler.pollInterval(after: interval, position: position, changed: changed)
            interval = next
            try await clock.sleep(seconds: next)
            guard let counter = registry.changeCounter(), counter != seen else {
                changed = false
                continue
            }
            (seen, changed) = (counter, true)
            guard let snapshot = try readRegistry({ try $0.snapshot(accountID: accountID) }) else { return }
            if case .wait = scheduler.decide(snapshot, request, now: clock.now()).action {
                if let ticket = request.ticket { position = snapshot.waiters.count { $0.ticket < ticket } }
                continue
            }
            return
        }
    }

    static func unmeetable(minValidity: Double, lifetime: Double) -> OCPSessionsError {
        OCPSessionsError(.configuration, "--min-validity \(Int(minValidity.rounded(.up)))s cannot be met: the IAM issues access tokens valid for \(Int(lifetime))s, of which at most 90% can be promised; ask for less")
    }

    // MARK: - Registry access

    func writeRegistry<T>(_ body: (RegistryWriter) throws -> T) throws -> T {
        do { return try registry.write(body) } catch { throw OCPSessionsError.wrap(error) }
    }

    func readRegistry<T>(_ body: (RegistryReader) throws -> T) throws -> T {
        do { return try registry.read(body) } catch { throw OCPSessionsError.wrap(error) }
    }

    func openAccessToken(tx: RegistryReader, sessionID: String) throws -> String {
        guard let sealed = try tx.sealedTokens(sessionID: sessionID) else {
            throw OCPSessionsError(.leaseLost, "session \(sessionID) vanished from the registry")
        }
        return try open(sealed.access, sessionID: sessionID)
    }

    func openRefreshToken(tx: RegistryReader, sessionID: String) throws -> String {
        guard let sealed = try tx.sealedTokens(sessionID: sessionID) else {
            throw OCPSessionsError(.leaseLost, "session \(sessionID) vanished from the registry")
        }
        return try open(sealed.refresh, sessionID: sessionID)
    }

    /// A token that does not open is never handed out nor used for a logout: the caller gets this
    /// error (exit 78) naming the session, whose row stays as it is, still counted.
    private func open(_ sealed: [UInt8], sessionID: String) throws -> String {
        do {
            return try registry.sealer.open(sealed, sessionID: sessionID)
        } catch {
            throw OCPSessionsError(.configuration, "session \(sessionID): \(error)")
        }
    }

    /// Call inside the write transaction that stores the result: the transaction's start made the
    /// registry's current key the sealing key.
    func seal(_ tokens: TokenSet) throws -> SealedTokens {
        let sealer = registry.sealer
        return SealedTokens(
            access: try sealer.seal(tokens.accessToken, sessionID: tokens.sessionState),
            refresh: try sealer.seal(tokens.refreshToken, sessionID: tokens.sessionState))
    }

    static func newID() -> String { UUID().uuidString.lowercased() }

    /// This process, as the claimer of the logouts it sends.
    var logoutClaimer: HolderIdentity { ProcessIdentity.current(label: "logout") }
}
