/// The URLs of one Keycloak realm, as found by ``KeycloakDiscovery``.
///
/// Meant to be cached (as JSON, via `Codable`) next to the sessions, so that the warm path makes
/// no discovery request. Check ``matches(host:realm:)`` before using a cached value, since the
/// configuration may have changed since it was stored.
public struct KeycloakEndpoints: Codable, Sendable, Equatable {
    /// The configured Keycloak address these endpoints were found from, normalised
    /// (`scheme://host[:port][/path]`, no trailing slash).
    public var host: String
    /// The realm name as configured.
    public var realm: String
    /// The `issuer` of the realm's tokens (`{base}/realms/{realm}`).
    public var issuer: String
    /// `token_endpoint`: password grant and refresh.
    public var token: String
    /// `end_session_endpoint`: logout with a refresh token (may use the frontend host name).
    public var logout: String
    /// `userinfo_endpoint`: a liveness probe for tokens with the `openid` scope.
    public var userinfo: String
    /// `revocation_endpoint` (kept for completeness; logout is the way to end a session).
    public var revocation: String
    /// `{realm URL}/account`: the account REST API (`/sessions` below it).
    public var account: String
    /// False when no discovery document was found and the URLs were built from the host under
    /// `/auth/realms/...`; a caller may then choose to discover again later.
    public var discovered: Bool

    public init(
        host: String, realm: String, issuer: String, token: String, logout: String, userinfo: String,
        revocation: String, account: String, discovered: Bool
    ) {
        self.host = host
        self.realm = realm
        self.issuer = issuer
        self.token = token
        self.logout = logout
        self.userinfo = userinfo
        self.revocation = revocation
        self.account = account
        self.discovered = discovered
    }

    /// Whether these endpoints were found for this configured host and realm.
    public func matches(host: String, realm: String) -> Bool {
        guard let checked = try? KeycloakURLPolicy.checkHost(host) else { return false }
        return checked.string == self.host && realm == self.realm
    }

    /// Checks every URL the client calls against ``KeycloakURLPolicy`` (also for a value read
    /// back from a cache that may have been edited).
    public func validate() throws(IdPError) {
        _ = try KeycloakURLPolicy.checkEndpoint(token, what: "token endpoint")
        _ = try KeycloakURLPolicy.checkEndpoint(logout, what: "logout endpoint")
        _ = try KeycloakURLPolicy.checkEndpoint(userinfo, what: "userinfo endpoint")
        _ = try KeycloakURLPolicy.checkEndpoint(revocation, what: "revocation endpoint")
        _ = try KeycloakURLPolicy.checkEndpoint(account, what: "account API URL")
    }

    /// The fixed Keycloak paths under `{realm URL}/protocol/openid-connect/`, for a realm URL
    /// such as `https://kc.example.com/auth/realms/acme`.
    static func fixed(host: String, realm: String, realmURL: String, discovered: Bool) -> KeycloakEndpoints {
        let oidc = realmURL + "/protocol/openid-connect"
        return KeycloakEndpoints(
            host: host, realm: realm, issuer: realmURL, token: oidc + "/token", logout: oidc + "/logout",
            userinfo: oidc + "/userinfo", revocation: oidc + "/revoke", account: realmURL + "/account",
            discovered: discovered
        )
    }
}
