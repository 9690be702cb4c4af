/// How the simulated realm behaves. The defaults mimic a Keycloak 26.5 realm with the settings of
/// `keycloak-behaviour.md` §14, except that the session limiter is off until `sessionLimit` is set.
///
/// All durations are seconds and may be fractions (tests use lifetimes of half a second).
/// ``KeycloakSimulator/start(_:host:port:)`` validates the whole configuration.
public struct SimulatorConfiguration: Sendable {
    /// The one realm this server knows; every other realm name answers 404 `Realm does not exist`.
    public var realm: String = "master"
    /// `"/auth"` (WildFly and legacy images, and our IAM's documentation) or `""` (Keycloak 17+).
    /// Every endpoint lives under `{basePath}/realms/{realm}`.
    public var basePath: String = "/auth"
    /// Username to password.
    public var users: [String: String] = ["alice": "alice-pass"]
    /// Client ids that authenticate without a secret.
    public var publicClients: Set<String> = ["ocp"]
    /// Client id to secret; the secret comes as form `client_secret` or HTTP Basic.
    public var confidentialClients: [String: String] = [:]
    /// Access Token Lifespan.
    public var accessTokenLifespan: Double = 300
    /// SSO Session Idle.
    public var ssoSessionIdle: Double = 1800
    /// SSO Session Max.
    public var ssoSessionMax: Double = 36000
    /// Offline Session Idle: how long an unused offline session (`scope=offline_access`) lives.
    /// Offline sessions have no maximum ("Offline Session Max Limited" off).
    public var offlineSessionIdle: Double = 2_592_000
    /// Extra time a session survives past `ssoSessionIdle` (Keycloak's two-minute window: 120 on
    /// versions before 26). Refresh tokens expire without it.
    public var idleGrace: Double = 0
    /// "Revoke Refresh Token" with "Refresh Token Max Reuse" 0 (rotation, §4.3).
    public var revokeRefreshToken: Bool = false
    /// The realm limit of the "User session count limiter" in the direct-grant flow; `nil` keeps
    /// the limiter out of the flow.
    public var sessionLimit: Int? = nil
    /// What the limiter does when the limit is reached.
    public var limiterBehavior: LimiterBehavior = .deny
    /// Which Keycloak version's answer a denied login gets.
    public var denialFormat: DenialFormat = .keycloak23
    /// Status of `invalid_grant` answers to a password grant: 401 up to 26.5, 400 from 26.6.
    public var invalidGrantStatus: Int = 401
    /// Brute-force detection; `nil` (Keycloak's default) leaves it off.
    public var bruteForce: BruteForce? = nil
    /// Seconds of simulated password hashing spent on each password grant before it is processed.
    public var loginCost: Double = 0
    /// Faults injected into realm endpoints before they process anything.
    public var faults: FaultConfiguration = .none
    /// The server shuts itself down after this many seconds, so a test that forgets to stop its
    /// server cannot leave it running. `.infinity` keeps it up until ``KeycloakSimulator/shutdown()``.
    public var maximumLifetime: Double = 900
    /// Whether access tokens carry the `session_state` claim (removed in Keycloak 25).
    public var sessionStateClaim: Bool = true
    /// Whether the user has the account roles (`view-profile`, `manage-account`) the account API
    /// needs; without them it answers 403 to a valid token (§9).
    public var accountRoles: Bool = true
    /// Serve HTTPS with this certificate instead of plain HTTP (`nil`, the default).
    public var tls: SimulatorTLS? = nil
    /// Keep every token issued (access, refresh, id), for ``KeycloakSimulator/issuedTokens()``.
    /// Off by default: a long benchmark issues too many to keep.
    public var recordIssuedTokens: Bool = false

    public init() {}
}

/// What the session limiter does when a login would exceed the limit (§7.2).
public enum LimiterBehavior: String, Sendable, Codable, CaseIterable {
    /// "Deny new session": the login fails and counts as a failure for brute force.
    case deny
    /// "Terminate oldest session": least recently refreshed sessions are logged out until
    /// `limit - 1` remain, then the login succeeds.
    case terminateOldest
}

/// The shape of a "Deny new session" answer to a password grant (§7.3).
public enum DenialFormat: String, Sendable, Codable, CaseIterable {
    /// 23 and later: 403, `{"error":"There are too many sessions"}` when the request accepts
    /// `application/json`, the HTML error page otherwise.
    case keycloak23
    /// 18 to 22: 401 `generic_authentication_error` / `sessionLimitExceeded`.
    case keycloak18
    /// 17: 500 `unknown_error`.
    case keycloak17
}

/// Brute-force detection, simplified to a temporary lockout (§3.2).
public struct BruteForce: Sendable, Equatable, Codable {
    /// Consecutive failed logins (wrong password or limiter denial) that lock the user.
    public var failureFactor: Int
    /// How long the lockout lasts.
    public var lockoutSeconds: Double

    public init(failureFactor: Int = 30, lockoutSeconds: Double = 60) {
        self.failureFactor = failureFactor
        self.lockoutSeconds = lockoutSeconds
    }
}

/// A TLS listener's certificate: PEM text, so tests can pass a test CA's certificate directly.
public struct SimulatorTLS: Sendable {
    /// The server certificate, then any intermediates.
    public var certificateChainPEM: String
    public var privateKeyPEM: String
    /// The host name put in `baseURL` (and so in the issuer): one the certificate names.
    public var urlHost: String

    public init(certificateChainPEM: String, privateKeyPEM: String, urlHost: String = "localhost") {
        self.certificateChainPEM = certificateChainPEM
        self.privateKeyPEM = privateKeyPEM
        self.urlHost = urlHost
    }
}
