/// What the lease executor needs from an OpenID Connect identity provider (Keycloak).
///
/// Each call makes exactly one attempt: retries, backoff and the session-limit policy live in the
/// lease executor, which alone knows whether a retry could create a session beyond the limit.
public protocol IdentityProvider: Sendable {
    /// `grant_type=password`: always creates a new session at the IAM.
    func login(username: String, password: Secret) async throws(IdPError) -> TokenSet
    /// `grant_type=refresh_token`: same session, new tokens (a new refresh token every time).
    func refresh(refreshToken: String) async throws(IdPError) -> TokenSet
    /// `POST .../logout` with the refresh token. Succeeds (204) also for a session already gone
    /// and for an expired or detached refresh token.
    func logout(refreshToken: String) async throws(IdPError)
    /// `GET {realm}/account/sessions`: the user's online sessions at the IAM.
    func accountSessions(accessToken: String) async throws(IdPError) -> [AccountSession]
    /// `DELETE {realm}/account/sessions/{id}` (204 even for an unknown id).
    func deleteAccountSession(id: String, accessToken: String) async throws(IdPError)
}

/// A successful answer of the token endpoint. Lifetimes are relative to the moment it was received.
public struct TokenSet: Sendable, Equatable {
    public var accessToken: String
    public var refreshToken: String
    /// `session_state`: the user-session id at the IAM (equal to the `sid` claim).
    public var sessionState: String
    /// `expires_in`, seconds.
    public var expiresIn: Double
    /// `refresh_expires_in`, seconds; 0 means "no expiry" (offline tokens).
    public var refreshExpiresIn: Double
    public var scope: String?

    public init(
        accessToken: String, refreshToken: String, sessionState: String,
        expiresIn: Double, refreshExpiresIn: Double, scope: String? = nil
    ) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.sessionState = sessionState
        self.expiresIn = expiresIn
        self.refreshExpiresIn = refreshExpiresIn
        self.scope = scope
    }
}

/// One entry of the account API's session list.
public struct AccountSession: Sendable, Equatable {
    public var id: String
    /// Epoch seconds.
    public var started: Double
    /// Epoch seconds.
    public var lastAccess: Double
    public var clientIDs: [String]

    public init(id: String, started: Double, lastAccess: Double, clientIDs: [String]) {
        self.id = id
        self.started = started
        self.lastAccess = lastAccess
        self.clientIDs = clientIDs
    }
}

/// A secret string (password, client secret) that never prints itself.
public struct Secret: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}
