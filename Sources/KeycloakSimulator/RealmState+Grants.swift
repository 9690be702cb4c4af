/// The outcome of a password grant that passed the request checks.
enum PasswordGrantResult: Sendable {
    case issued(IssuedTokens)
    /// Unknown user, wrong password or a brute-force lockout: one answer for all three.
    case invalidCredentials
    case limitDenied
}

/// The outcome of a refresh grant whose token verified.
enum RefreshGrantResult: Sendable {
    case issued(IssuedTokens)
    case failed(error: String, description: String)
}

extension RealmState {
    /// A password grant from the credential check on (§3.2, §7.2), in one step so concurrent
    /// logins cannot overshoot the limit. With `offline_access` in the scope it creates an offline
    /// session and no online one (26.1 and later), after the limiter ran on the online ones.
    mutating func passwordGrant(username: String, password: String, clientID: String, scope: String, now: Double)
        -> PasswordGrantResult
    {
        statistics.loginAttempts += 1
        guard let expected = configuration.users[username] else { return .invalidCredentials }
        // Keycloak checks the lockout before the password, so the right password fails too.
        if bruteForce.isLocked(username, now: now) {
            statistics.lockedOutAttempts += 1
            return .invalidCredentials
        }
        guard password == expected else {
            bruteForce.recordFailure(username, now: now)
            return .invalidCredentials
        }
        switch limiter.decide(existing: store.liveSessions(of: username, now: now)) {
        case .allow:
            break
        case .deny:
            statistics.denials += 1
            bruteForce.recordFailure(username, now: now)
            return .limitDenied
        case .terminate(let victims):
            for id in victims { store.remove(id: id) }
            statistics.terminations += victims.count
        }
        bruteForce.recordSuccess(username)
        let offline = scope.split(separator: " ").contains("offline_access")
        let session = createSession(username: username, clientID: clientID, offline: offline, scope: scope, now: now)
        statistics.logins += 1
        return .issued(issueTokens(for: session, accessScope: scope, refreshScope: scope, now: now))
    }

    /// A refresh grant from the expiry check on, in Keycloak's order (§4.2), with rotation (§4.3).
    ///
    /// `requestedScope` may only narrow the token's scope.
    mutating func refreshGrant(_ token: TokenClaims, clientID: String, requestedScope: [String]?, now: Double)
        -> RefreshGrantResult
    {
        let result = evaluateRefresh(token, clientID: clientID, requestedScope: requestedScope, now: now)
        switch result {
        case .issued: statistics.refreshes += 1
        case .failed(_, let description): statistics.refreshErrors[description, default: 0] += 1
        }
        return result
    }

    private mutating func evaluateRefresh(
        _ token: TokenClaims, clientID: String, requestedScope: [String]?, now: Double
    ) -> RefreshGrantResult {
        func invalidGrant(_ description: String) -> RefreshGrantResult {
            .failed(error: "invalid_grant", description: description)
        }
        guard now < expiry(of: token) else { return invalidGrant("Token is not active") }
        guard token.azp == clientID else {
            return invalidGrant("Invalid refresh token. Token client and authorized client don't match")
        }
        var session: UserSession
        switch store.lookup(id: token.sid, now: now) {
        case .live(let found) where found.isOffline == (token.type == .offline):
            session = found
        case .expired where token.type == .offline:
            return invalidGrant("Offline session not active")
        case .live, .expired, .missing:
            return invalidGrant(token.type == .offline ? "Offline user session not found" : "Session not active")
        }
        guard session.clientAttached else { return invalidGrant("Session doesn't have required client") }
        if configuration.revokeRefreshToken {
            if let failure = checkReuse(of: token, in: &session) {
                // Any reuse failure detaches the client session; the user session stays (§4.3).
                session.clientAttached = false
                store.update(session)
                statistics.reuseDetections += 1
                return invalidGrant(failure)
            }
        }
        var accessScope = token.scope
        if let requestedScope {
            let granted = Set(token.scope.split(separator: " ").map(String.init))
            guard requestedScope.allSatisfy(granted.contains) else {
                store.update(session)  // Keycloak has already counted the use.
                return .failed(
                    error: "invalid_scope", description: "Invalid scopes: \(requestedScope.joined(separator: " "))")
            }
            accessScope = requestedScope.joined(separator: " ")
        }
        session.lastRefresh = now
        session.refreshGeneration += 1
        store.update(session)
        return .issued(issueTokens(for: session, accessScope: accessScope, refreshScope: token.scope, now: now))
    }

    /// `validateTokenReuse` with "Refresh Token Max Reuse" 0: the failure description, if any.
    private func checkReuse(of token: TokenClaims, in session: inout UserSession) -> String? {
        if session.currentRefreshTokenID != token.jti {
            // Only a token issued since the latest refresh may become the current one.
            let generation = store.tokenRecord(id: token.jti)?.generation ?? -1
            if generation < session.refreshGeneration { return "Stale token" }
            session.currentRefreshTokenID = token.jti
            session.currentRefreshTokenUseCount = 0
        }
        if session.currentRefreshTokenUseCount > 0 { return "Maximum allowed refresh token reuse exceeded" }
        session.currentRefreshTokenUseCount += 1
        return nil
    }

    /// Logout with a verified refresh token (§5): the whole user session goes, whether the token
    /// has expired or the client session was detached; a session already gone is fine too.
    mutating func logout(_ token: TokenClaims) {
        store.remove(id: token.sid)
        statistics.logouts += 1
    }

    /// Revocation of a verified token (§6, after PR #35696). `false`: nothing to revoke, which
    /// Keycloak answers with 200 `invalid_token`.
    mutating func revoke(_ token: TokenClaims, now: Double) -> Bool {
        switch token.type {
        case .access:
            guard store.liveSession(id: token.sid, now: now) != nil else { return false }
            revokedAccessTokens.insert(token.jti)
            return true
        case .refresh, .offline:
            // The session has only this client, so detaching it removes the user session.
            guard store.liveSession(id: token.sid, now: now) != nil else { return false }
            store.remove(id: token.sid)
            return true
        case .id, nil:
            return false
        }
    }
}
