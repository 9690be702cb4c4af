/// One user session and its single client session: a password grant creates both.
struct UserSession: Sendable, Equatable {
    let id: String
    let username: String
    let clientID: String
    /// An offline session (`scope=offline_access`): not counted by the limiter, not listed by the
    /// account API, kept across restarts, and ended only by its own idle timeout or a logout.
    let isOffline: Bool
    /// The scope granted at login; refresh tokens carry it on.
    let scope: String
    let started: Double
    /// The last login or refresh. The idle timeout and terminate-oldest's order both use it.
    var lastRefresh: Double
    /// False once rotation's reuse check detached the client session (§4.3). The user session
    /// lives on and counts toward the limit until it idles out or is logged out.
    var clientAttached = true
    /// Rotation state, as `validateTokenReuse` keeps it on the client session.
    var currentRefreshTokenID: String?
    var currentRefreshTokenUseCount = 0
    /// Stands in for the client session's timestamp in the reuse check: each refresh bumps it and a
    /// refresh token remembers the value at its issue, so a token issued before the latest refresh
    /// is stale. A counter, unlike whole seconds, cannot let a same-second replay through (#50999).
    var refreshGeneration = 0

    init(id: String, username: String, clientID: String, isOffline: Bool, scope: String, started: Double) {
        self.id = id
        self.username = username
        self.clientID = clientID
        self.isOffline = isOffline
        self.scope = scope
        self.started = started
        self.lastRefresh = started
    }
}

/// The exact lifetime of an issued access or refresh token, kept because the JWT's `exp` is
/// whole seconds and tests use sub-second lifetimes.
struct TokenRecord: Sendable, Equatable {
    let expiresAt: Double
    /// The session's ``UserSession/refreshGeneration`` when the token was issued.
    let generation: Int
}

/// The sessions of the realm and the records of the tokens issued for them.
///
/// Sessions expire lazily, like Keycloak's: an expired session is removed when something looks
/// at it, so every read goes through `lookup` or the `live…` functions.
struct SessionStore: Sendable {
    private let idleTimeout: Double
    private let maximumLifespan: Double
    private let offlineIdleTimeout: Double
    private var sessions: [String: UserSession] = [:]
    private var sessionIDsByUser: [String: Set<String>] = [:]
    private var tokens: [String: TokenRecord] = [:]
    private var tokensSincePrune = 0

    init(configuration: SimulatorConfiguration) {
        idleTimeout = configuration.ssoSessionIdle + configuration.idleGrace
        maximumLifespan = configuration.ssoSessionMax
        offlineIdleTimeout = configuration.offlineSessionIdle + configuration.idleGrace
    }

    func isAlive(_ session: UserSession, now: Double) -> Bool {
        if session.isOffline { return now < session.lastRefresh + offlineIdleTimeout }
        return now < session.lastRefresh + idleTimeout && now < session.started + maximumLifespan
    }

    enum Lookup {
        case live(UserSession)
        /// It existed but had expired; it is removed now.
        case expired
        case missing
    }

    /// Finds a session, removing it if it has expired.
    mutating func lookup(id: String, now: Double) -> Lookup {
        guard let session = sessions[id] else { return .missing }
        guard isAlive(session, now: now) else {
            remove(id: id)
            return .expired
        }
        return .live(session)
    }

    /// The session (online or offline) if it is alive.
    mutating func liveSession(id: String, now: Double) -> UserSession? {
        guard case .live(let session) = lookup(id: id, now: now) else { return nil }
        return session
    }

    /// The user's online (or offline) sessions, oldest first; removes the expired ones.
    mutating func liveSessions(of username: String, offline: Bool = false, now: Double) -> [UserSession] {
        let ids = sessionIDsByUser[username] ?? []
        return ids.compactMap { liveSession(id: $0, now: now) }
            .filter { $0.isOffline == offline }
            .sorted { ($0.started, $0.id) < ($1.started, $1.id) }
    }

    /// Every user that has or had a session in this store.
    var usernames: [String] { Array(sessionIDsByUser.keys) }

    mutating func insert(_ session: UserSession) {
        sessions[session.id] = session
        sessionIDsByUser[session.username, default: []].insert(session.id)
    }

    /// Replaces a stored session with a changed copy (no-op if it was removed meanwhile).
    mutating func update(_ session: UserSession) {
        guard sessions[session.id] != nil else { return }
        sessions[session.id] = session
    }

    @discardableResult
    mutating func remove(id: String) -> UserSession? {
        guard let session = sessions.removeValue(forKey: id) else { return nil }
        sessionIDsByUser[session.username]?.remove(id)
        return session
    }

    /// Drops every online session, as a restart without persistent sessions does; offline
    /// sessions live in the database and survive. Token records stay: clients still hold them.
    mutating func removeOnlineSessions() {
        for session in sessions.values where !session.isOffline { remove(id: session.id) }
    }

    func tokenRecord(id: String) -> TokenRecord? { tokens[id] }

    mutating func recordToken(id: String, _ record: TokenRecord, now: Double) {
        tokens[id] = record
        tokensSincePrune += 1
        // Once a token's exact expiry has passed, its whole-second `exp` claim says "expired" just
        // as well, so the record can go. Pruning in batches keeps logins O(1) amortised.
        if tokensSincePrune >= 4096 {
            tokensSincePrune = 0
            tokens = tokens.filter { $0.value.expiresAt > now }
        }
    }
}
