import Foundation

/// Everything the simulated realm remembers, as one value mutated under one lock.
///
/// Each event (a login, a refresh, a logout, a test hook) is a `mutating func` that decides and
/// updates the counters in the same step, so the limiter and the statistics cannot disagree.
/// HTTP parsing, token signing and response formatting stay outside, in the endpoints.
struct RealmState: Sendable {
    let configuration: SimulatorConfiguration
    let issuer: String
    var store: SessionStore
    var bruteForce: BruteForceGuard
    var limiter: SessionLimiter
    var faults: FaultInjector
    var statistics = SimulatorStatistics()
    /// Access tokens revoked through the revocation endpoint.
    var revokedAccessTokens: Set<String> = []
    /// Refresh requests per session that arrived and are not answered yet.
    private var refreshesInFlight: [String: Int] = [:]
    /// Stable `sub` claims.
    private var userIDs: [String: String] = [:]

    init(configuration: SimulatorConfiguration, issuer: String) {
        self.configuration = configuration
        self.issuer = issuer
        store = SessionStore(configuration: configuration)
        bruteForce = BruteForceGuard(policy: configuration.bruteForce)
        limiter = SessionLimiter(limit: configuration.sessionLimit, behavior: configuration.limiterBehavior)
        faults = FaultInjector(configuration.faults)
    }

    // MARK: Faults

    mutating func nextFault() -> FaultKind? {
        let fault = faults.nextFault()
        if fault != nil { statistics.faultsInjected += 1 }
        return fault
    }

    // MARK: Sessions

    /// Creates a session and, for an online one, raises the user's high-water mark if needed.
    mutating func createSession(
        username: String, clientID: String, offline: Bool = false, scope: String, now: Double
    ) -> UserSession {
        let session = UserSession(
            id: UUID().uuidString.lowercased(), username: username, clientID: clientID, isOffline: offline,
            scope: scope, started: now)
        store.insert(session)
        if !offline {
            let online = store.liveSessions(of: username, now: now).count
            statistics.highWaterMark[username] = max(statistics.highWaterMark[username, default: 0], online)
        }
        return session
    }

    /// A live session (online or offline) whose client session is still attached: what a bearer
    /// token needs.
    mutating func attachedSession(id: String, now: Double) -> UserSession? {
        guard let session = store.liveSession(id: id, now: now), session.clientAttached else { return nil }
        return session
    }

    /// Whether a verified access token is unexpired and not revoked.
    func isActiveAccessToken(_ claims: TokenClaims, now: Double) -> Bool {
        guard claims.type == .access, !revokedAccessTokens.contains(claims.jti) else { return false }
        return now < expiry(of: claims)
    }

    /// The exact expiry of a token: its record, or the whole-second claim once the record is gone.
    func expiry(of claims: TokenClaims) -> Double {
        store.tokenRecord(id: claims.jti)?.expiresAt ?? claims.exp.map(Double.init) ?? .infinity
    }

    /// Drops every online session, as a restart without persistent sessions does. Counters survive.
    mutating func restart() {
        store.removeOnlineSessions()
        bruteForce = BruteForceGuard(policy: configuration.bruteForce)
        revokedAccessTokens.removeAll()
    }

    /// The statistics with `currentSessions` filled in (expired sessions are removed first).
    mutating func snapshot(now: Double) -> SimulatorStatistics {
        var result = statistics
        for username in Set(store.usernames).union(statistics.highWaterMark.keys) {
            result.currentSessions[username] = store.liveSessions(of: username, now: now).count
        }
        return result
    }

    // MARK: Refreshes in flight

    /// Notes a refresh request for a session; counts it if another one is still unanswered.
    mutating func refreshArrived(sessionID: String) {
        let inFlight = refreshesInFlight[sessionID, default: 0]
        if inFlight > 0 { statistics.concurrentRefreshes += 1 }
        refreshesInFlight[sessionID] = inFlight + 1
    }

    mutating func refreshAnswered(sessionID: String) {
        let remaining = refreshesInFlight[sessionID, default: 1] - 1
        refreshesInFlight[sessionID] = remaining > 0 ? remaining : nil
    }

    // MARK: Tokens

    /// Mints the claims of a token response for a session and records their exact expiries.
    ///
    /// `accessScope` may be narrower than `refreshScope` when a refresh asked for less (§4).
    mutating func issueTokens(for session: UserSession, accessScope: String, refreshScope: String, now: Double)
        -> IssuedTokens
    {
        // Offline sessions have no maximum and their refresh tokens no expiry (§8).
        let untilSessionMax = session.isOffline ? .infinity : session.started + configuration.ssoSessionMax - now
        let expiresIn = min(configuration.accessTokenLifespan, untilSessionMax)
        let refreshExpiresIn = session.isOffline ? .infinity : min(configuration.ssoSessionIdle, untilSessionMax)
        let userID = userID(for: session.username)

        func claims(_ type: TokenType, audience: String, scope: String, lifetime: Double) -> TokenClaims {
            TokenClaims(
                exp: lifetime.isFinite ? Int((now + lifetime).rounded(.down)) : nil, iat: Int(now.rounded(.down)),
                jti: UUID().uuidString.lowercased(), iss: issuer, aud: audience, sub: userID, typ: type.rawValue,
                azp: session.clientID, sid: session.id,
                sessionState: type == .access && configuration.sessionStateClaim ? session.id : nil,
                scope: scope, preferredUsername: type == .access || type == .id ? session.username : nil)
        }

        let access = claims(.access, audience: "account", scope: accessScope, lifetime: expiresIn)
        let refreshType: TokenType = session.isOffline ? .offline : .refresh
        let refresh = claims(refreshType, audience: issuer, scope: refreshScope, lifetime: refreshExpiresIn)
        let accessOpenID = accessScope.split(separator: " ").contains("openid")
        let id = accessOpenID ? claims(.id, audience: session.clientID, scope: accessScope, lifetime: expiresIn) : nil
        store.recordToken(
            id: access.jti, TokenRecord(expiresAt: now + expiresIn, generation: session.refreshGeneration), now: now)
        store.recordToken(
            id: refresh.jti, TokenRecord(expiresAt: now + refreshExpiresIn, generation: session.refreshGeneration),
            now: now)
        // `refresh_expires_in` is 0 for an offline token: "no expiry".
        return IssuedTokens(
            access: access, refresh: refresh, id: id, expiresIn: expiresIn,
            refreshExpiresIn: refreshExpiresIn.isFinite ? refreshExpiresIn : 0, scope: accessScope,
            sessionState: session.id)
    }

    private mutating func userID(for username: String) -> String {
        if let id = userIDs[username] { return id }
        let id = UUID().uuidString.lowercased()
        userIDs[username] = id
        return id
    }
}

/// The claims of one token response, before signing.
struct IssuedTokens: Sendable {
    var access: TokenClaims
    var refresh: TokenClaims
    var id: TokenClaims?
    var expiresIn: Double
    var refreshExpiresIn: Double
    var scope: String
    var sessionState: String
}
