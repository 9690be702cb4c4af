import Foundation

/// The network half of each step: run after the deciding transaction committed, and followed by a
/// short transaction that records the outcome.
extension SessionPool {
    func provider(for account: AccountConfiguration, accountID: Int64) async throws -> any IdentityProvider {
        if let cached = await providers.get(account.key, clientID: account.clientID) { return cached }
        let endpoints = try readRegistry { try $0.endpointsJSON(accountID: accountID) }
        do {
            let (provider, toCache) = try await connector.connect(account, cachedEndpoints: endpoints)
            if let toCache {
                try writeRegistry { try $0.setEndpointsJSON(accountID: accountID, json: toCache) }
            }
            return await providers.put(provider, for: account.key, clientID: account.clientID)
        } catch {
            throw OCPSessionsError.wrap(error)
        }
    }

    /// Refreshes a session this lease claimed. Returns nil when the session turned out dead (it is
    /// logged out and dropped, and the caller decides again).
    func performRefresh(
        accountID: Int64, account: AccountConfiguration, sessionID: String, leaseID: String,
        refreshToken: String, version: Int, minValidity: Double, keepLease: Bool = false
    ) async throws -> Grant? {
        let provider = try await provider(for: account, accountID: accountID)
        do {
            // Lifetimes count from before the request: the IAM issued the tokens after that, so
            // expiries computed this way err on the early side, whatever the latency.
            let sentAt = clock.now()
            let tokens = try await provider.refresh(refreshToken: refreshToken)
            let now = clock.now()
            let accessExpiresAt = sentAt + tokens.expiresIn
            let written = try writeRegistry { tx in
                // Sealed inside the transaction: it starts by switching to the registry's current key.
                let sealed = try seal(TokenSet(
                    accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, sessionState: sessionID,
                    expiresIn: tokens.expiresIn, refreshExpiresIn: tokens.refreshExpiresIn))
                let ok = try tx.updateTokens(
                    sessionID: sessionID, tokens: sealed, accessExpiresAt: accessExpiresAt,
                    refreshExpiresAt: tokens.refreshExpiresIn > 0 ? sentAt + tokens.refreshExpiresIn : nil,
                    now: now, expectedVersion: version)
                if ok {
                    try tx.touchSession(id: sessionID, at: now, handedOutUntil: accessExpiresAt)
                    try tx.appendEvent(EventRecord(at: now, accountID: accountID, kind: .refresh, sessionID: sessionID,
                                                   leaseID: leaseID, pid: Int(getpid())))
                }
                return ok
            }
            guard written else {
                // Only the claim holder writes, so this means the session row was replaced or dropped.
                try writeRegistry { try $0.deleteLease(id: leaseID) }
                return nil
            }
            if tokens.expiresIn < minValidity {
                try writeRegistry { try $0.deleteLease(id: leaseID) }
                throw Self.unmeetable(minValidity: minValidity, lifetime: tokens.expiresIn)
            }
            return Grant(sessionID: sessionID, accessToken: tokens.accessToken, accessExpiresAt: accessExpiresAt)
        } catch let error as IdPError {
            let now = clock.now()
            switch error.kind {
            case .sessionDead:
                // Logout still works with a stale or expired refresh token and clears half-dead
                // sessions (detached by reuse detection), so the slot is really freed.
                try writeRegistry { tx in
                    try tx.deleteLease(id: leaseID)
                    try tx.markLoggingOut(sessionID: sessionID, claimUntil: now + scheduler.policy.logoutClaimDuration, claimer: logoutClaimer)
                    try tx.appendEvent(EventRecord(at: now, accountID: accountID, kind: .refreshFailed, sessionID: sessionID,
                                                   leaseID: leaseID, pid: Int(getpid()), detail: error.message))
                }
                await performLogouts(accountID: accountID, account: account, victims: [(sessionID, refreshToken)])
                return nil
            default:
                // The refresh may or may not have happened; release the claim (and the lease, for a
                // new acquire). With rotation on, a consumed token shows up as a reuse error next
                // time: logout, login.
                try writeRegistry { tx in
                    if !keepLease { try tx.deleteLease(id: leaseID) }
                    try tx.setRefreshClaim(sessionID: sessionID, leaseID: nil, until: nil)
                    try tx.recordError(accountID: accountID, message: error.message, at: now)
                    try tx.appendEvent(EventRecord(at: now, accountID: accountID, kind: .refreshFailed, sessionID: sessionID,
                                                   leaseID: leaseID, pid: Int(getpid()), detail: error.message))
                }
                throw error
            }
        }
    }

    /// Logs in for a slot reserved by `loginID`. On success the session and the lease are written in
    /// one transaction; on a definite failure the reservation is dropped; on an unknown outcome it
    /// stays counted (state `unknown`) until proven gone.
    func performLogin(
        accountID: Int64, account: AccountConfiguration, options: LeaseOptions, holder: HolderIdentity,
        leaseID: String, loginID: String
    ) async throws -> Grant {
        let password: Secret
        let provider: any IdentityProvider
        do {
            password = try account.password.password()
            provider = try await self.provider(for: account, accountID: accountID)
        } catch {
            try writeRegistry { try $0.deleteLogin(id: loginID) }
            // An IAM not reachable for discovery yet is retried within the wait like any other.
            if let failure = error as? IdPError, failure.isTransient { throw failure }
            throw OCPSessionsError.wrap(error)
        }
        let tokens: TokenSet
        let sentAt = clock.now()
        do {
            tokens = try await provider.login(username: account.key.username, password: password)
        } catch {
            try recordLoginFailure(error, accountID: accountID, loginID: loginID)
            switch error.kind {
            case .sessionLimitDenied, .unavailable, .malformedResponse: throw error
            default: throw OCPSessionsError.wrap(error)
            }
        }
        let now = clock.now()
        let accessExpiresAt = sentAt + tokens.expiresIn
        let session = SessionRecord(
            id: tokens.sessionState, clientID: account.clientID, accessExpiresAt: accessExpiresAt,
            refreshExpiresAt: tokens.refreshExpiresIn > 0 ? sentAt + tokens.refreshExpiresIn : nil,
            createdAt: now, lastUsedAt: now, lastRefreshedAt: now, handedOutUntil: accessExpiresAt)
        try writeRegistry { tx in
            try tx.deleteLogin(id: loginID)
            // Sealed inside the transaction: it starts by switching to the registry's current key.
            try tx.insertSession(session, tokens: try seal(tokens), accountID: accountID)
            try tx.recordLoginSuccess(
                accountID: accountID, idleTimeout: tokens.refreshExpiresIn > 0 ? tokens.refreshExpiresIn : nil,
                accessLifetime: tokens.expiresIn)
            try tx.insertLease(LeaseRecord(id: leaseID, sessionID: session.id, shared: options.shared, holder: holder,
                                           acquiredAt: now, expiresAt: now + options.maxHold), accountID: accountID)
            try tx.appendEvent(EventRecord(at: now, accountID: accountID, kind: .login, sessionID: session.id,
                                           leaseID: leaseID, pid: holder.pid, detail: holder.label))
        }
        if !LeaseScheduler.canPromise(minValidity: options.minValidity, lifetime: tokens.expiresIn) {
            try writeRegistry { try $0.deleteLease(id: leaseID) }
            throw Self.unmeetable(minValidity: options.minValidity, lifetime: tokens.expiresIn)
        }
        return Grant(sessionID: session.id, accessToken: tokens.accessToken, accessExpiresAt: accessExpiresAt)
    }

    func recordLoginFailure(_ error: IdPError, accountID: Int64, loginID: String) throws {
        let now = clock.now()
        try writeRegistry { tx in
            switch error.kind {
            case .unavailable(outcomeUnknown: true):
                // The IAM may have created a session we hold no token for.
                try tx.setLoginState(id: loginID, .unknown)
            case _ where error.mayHaveCreatedSession:
                // Tokens we refused (absurd lifetime, over 1 MiB, no refresh token): the session
                // most likely exists at the IAM, so the slot stays counted like a lost login.
                try tx.setLoginState(id: loginID, .unknown)
            case .sessionLimitDenied:
                try tx.deleteLogin(id: loginID)
                let held = try tx.snapshot(accountID: accountID).map { $0.sessions.count + $0.logins.count } ?? 0
                try tx.recordDenial(accountID: accountID, effectiveCapacity: held,
                                    blockedUntil: now + scheduler.policy.loginBlockAfterDenial)
                try tx.appendEvent(EventRecord(at: now, accountID: accountID, kind: .denied, pid: Int(getpid()),
                                               detail: "the IAM refused a new session with \(held) of ours alive: sessions unknown to this registry hold the rest"))
            default:
                try tx.deleteLogin(id: loginID)
            }
            try tx.recordError(accountID: accountID, message: error.message, at: now)
            if error.kind != .sessionLimitDenied {
                try tx.appendEvent(EventRecord(at: now, accountID: accountID, kind: .loginFailed, pid: Int(getpid()),
                                               detail: error.message))
            }
        }
    }

    /// Logs sessions out (claimed as `logging_out`), dropping each once the IAM confirmed (204).
    /// A failed logout keeps its row, still counted, and is retried when its claim lapses.
    func performLogouts(accountID: Int64, account: AccountConfiguration, victims: [(sessionID: String, refreshToken: String)]) async {
        guard let provider = try? await provider(for: account, accountID: accountID) else { return }
        for victim in victims {
            do {
                try await provider.logout(refreshToken: victim.refreshToken)
            } catch let error where error.kind == .unavailable(outcomeUnknown: true) || error.kind == .unavailable(outcomeUnknown: false) || error.kind == .malformedResponse {
                let now = clock.now()
                _ = try? writeRegistry { tx in
                    try tx.appendEvent(EventRecord(at: now, accountID: accountID, kind: .error, sessionID: victim.sessionID,
                                                   detail: "logout not confirmed, will retry: \(error.message)"))
                }
                continue
            } catch {
                // 400 "Invalid refresh token" and the like: the IAM does not know this token any more.
            }
            let now = clock.now()
            _ = try? writeRegistry { tx in
                try tx.deleteSession(id: victim.sessionID)
                try tx.appendEvent(EventRecord(at: now, accountID: accountID, kind: .logout, sessionID: victim.sessionID,
                                               pid: Int(getpid())))
            }
        }
    }

    /// Asks the account API for the user's sessions, then: logs out there any session of our client,
    /// unknown to the registry, started in a lost login's time window (those logins then no longer
    /// count), and records how many sessions others hold (the census the login gate waits for).
    /// Returns how many lost logins were settled.
    @discardableResult
    func performReconcile(accountID: Int64, account: AccountConfiguration, loginIDs: [String], accessToken: String) async -> Int {
        let listed: [AccountSession]
        do {
            let provider = try await provider(for: account, accountID: accountID)
            listed = try await provider.accountSessions(accessToken: accessToken)
        } catch {
            let now = clock.now()
            let refused = (error as? IdPError)?.kind == .configuration
            _ = try? writeRegistry { tx in
                // Counted as a census that learnt nothing, so callers fall back to the denial rules
                // instead of waiting for one.
                try tx.recordCensus(accountID: accountID, foreignSessions: nil, limit: 0, at: now)
                if refused {
                    try tx.setAccountAPIRefused(accountID: accountID, until: now + scheduler.policy.accountAPIRetryAfter)
                    try tx.appendEvent(EventRecord(at: now, accountID: accountID, kind: .error, pid: Int(getpid()),
                                                   detail: "cannot count the sessions others hold: \(OCPSessionsError.wrap(error).message)"))
                }
            }
            return 0
        }
        guard let snapshot = try? readRegistry({ try $0.snapshot(accountID: accountID) }) else { return 0 }
        let census = ForeignSessionCensus(listed: listed, snapshot: snapshot, clientID: account.clientID, lostLoginIDs: loginIDs)
        var deleted = Set<String>()
        if !census.orphans.isEmpty, let provider = try? await provider(for: account, accountID: accountID) {
            for orphan in census.orphans {
                guard (try? await provider.deleteAccountSession(id: orphan.id, accessToken: accessToken)) != nil else { break }
                deleted.insert(orphan.id)
            }
        }
        let settled = deleted.count == census.orphans.count
        let now = clock.now()
        _ = try? writeRegistry { tx in
            try tx.recordCensus(accountID: accountID, foreignSessions: census.foreign.count,
                                limit: snapshot.account.sessionLimit, at: now)
            guard settled, !census.lostLogins.isEmpty else { return }
            for login in census.lostLogins { try tx.deleteLogin(id: login.id) }
            try tx.appendEvent(EventRecord(at: now, accountID: accountID, kind: .reconcile, pid: Int(getpid()),
                                           detail: "\(census.lostLogins.count) lost login(s) settled; \(deleted.count) orphan session(s) ended at the IAM"))
        }
        return settled ? census.lostLogins.count : 0
    }
}

/// Jittered exponential backoff for transient IAM failures, bounded by the caller's deadline.
struct Backoff {
    var attempt = 0

    mutating func wait(clock: any SessionClock, deadline: Double, lastError: IdPError) async throws {
        attempt += 1
        let remaining = deadline - clock.monotonic()
        guard remaining > 0 else { throw OCPSessionsError.wrap(lastError) }
        let base = min(2.0, 0.05 * pow(2, Double(attempt - 1)))
        try await clock.sleep(seconds: min(remaining, Double.random(in: base / 2...base)))
    }
}

/// The identity providers this process built, one per account and client.
actor ProviderCache {
    private var providers: [String: any IdentityProvider] = [:]

    func get(_ key: AccountKey, clientID: String) -> (any IdentityProvider)? {
        providers["\(key.host)|\(key.realm)|\(key.username)|\(clientID)"]
    }

    func put(_ provider: any IdentityProvider, for key: AccountKey, clientID: String) -> any IdentityProvider {
        let id = "\(key.host)|\(key.realm)|\(key.username)|\(clientID)"
        if let existing = providers[id] { return existing }
        providers[id] = provider
        return provider
    }

    func shutdown() async {
        for provider in providers.values {
            if let closable = provider as? any ClosableIdentityProvider { await closable.close() }
        }
        providers.removeAll()
    }
}

/// A provider that owns resources (an HTTP client) to release.
public protocol ClosableIdentityProvider: IdentityProvider {
    func close() async
}
