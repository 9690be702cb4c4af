/// ``IdentityProvider`` over Keycloak's OpenID Connect and account endpoints.
///
/// Each call sends exactly one request (no retries: a retried login after an unknown outcome
/// could create a session beyond the limit) and classifies the answer with
/// ``KeycloakResponseClassifier``. Every request carries `Accept: application/json`, without
/// which some Keycloak versions answer errors with HTML pages.
///
/// Cheap to create; all I/O goes through the injected ``KeycloakTransport``.
public struct KeycloakClient: IdentityProvider {
    /// Where requests go.
    public let endpoints: KeycloakEndpoints
    /// The OAuth `client_id`.
    public let clientID: String
    /// Sent as the form field `client_secret` (confidential clients); nil for a public client.
    public let clientSecret: Secret?
    /// The `scope` of a password grant (e.g. `openid`); not sent when nil or empty.
    public let scope: String?
    /// Per-request deadline; nil uses the transport's default.
    public let requestTimeout: Duration?
    private let transport: any KeycloakTransport

    public init(
        endpoints: KeycloakEndpoints, clientID: String, clientSecret: Secret? = nil, scope: String? = nil,
        transport: any KeycloakTransport, requestTimeout: Duration? = nil
    ) {
        self.endpoints = endpoints
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.scope = scope
        self.transport = transport
        self.requestTimeout = requestTimeout
    }

    public func login(username: String, password: Secret) async throws(IdPError) -> TokenSet {
        guard !username.isEmpty else { throw IdPError(.credentialsRejected, "the username is empty") }
        // Not sent: an empty password would count as a failed login toward brute-force lockout.
        guard !password.value.isEmpty else { throw IdPError(.credentialsRejected, "the password is empty") }
        var form = [("grant_type", "password")] + clientFields()
        form += [("username", username), ("password", password.value)]
        if let scope, !scope.isEmpty { form.append(("scope", scope)) }
        return try tokens(try await post(endpoints.token, form: form, operation: .login), .login)
    }

    public func refresh(refreshToken: String) async throws(IdPError) -> TokenSet {
        guard !refreshToken.isEmpty else { throw IdPError(.sessionDead, "no refresh token to refresh with") }
        // No `scope`: on refresh it could only narrow the session's scope.
        let form = [("grant_type", "refresh_token")] + clientFields() + [("refresh_token", refreshToken)]
        return try tokens(try await post(endpoints.token, form: form, operation: .refresh), .refresh)
    }

    /// `invalid_grant` (a malformed token, or one older than its session) throws `.sessionDead`:
    /// there is no session this token could end.
    public func logout(refreshToken: String) async throws(IdPError) {
        guard !refreshToken.isEmpty else { throw IdPError(.sessionDead, "no refresh token to log out with") }
        let form = clientFields() + [("refresh_token", refreshToken)]
        try expectDone(try await post(endpoints.logout, form: form, operation: .logout), .logout)
    }

    public func accountSessions(accessToken: String) async throws(IdPError) -> [AccountSession] {
        try checkBearer(accessToken)
        let response = try await send(
            KeycloakHTTPRequest(
                method: .get, url: endpoints.account + "/sessions", headers: headers(bearer: accessToken),
                timeout: requestTimeout
            ),
            .accountSessions
        )
        switch KeycloakResponseClassifier.classify(response, for: .accountSessions) {
        case .sessions(let sessions): return sessions
        case .failure(let error): throw error
        case .tokens, .done: throw unexpected(.accountSessions)
        }
    }

    public func deleteAccountSession(id: String, accessToken: String) async throws(IdPError) {
        guard !id.isEmpty else { throw IdPError(.rejected, "no session id to delete") }
        try checkBearer(accessToken)
        let url = endpoints.account + "/sessions/" + KeycloakFormEncoding.pathSegment(id)
        let response = try await send(
            KeycloakHTTPRequest(method: .delete, url: url, headers: headers(bearer: accessToken), timeout: requestTimeout),
            .deleteAccountSession
        )
        try expectDone(response, .deleteAccountSession)
    }

    // MARK: - Requests

    private func clientFields() -> [(String, String)] {
        var fields = [("client_id", clientID)]
        if let clientSecret, !clientSecret.value.isEmpty { fields.append(("client_secret", clientSecret.value)) }
        return fields
    }

    /// A bearer token must be a visible-ASCII header value; anything else is a caller bug, not
    /// a network problem, and must not be reported as one.
    private func checkBearer(_ token: String) throws(IdPError) {
        guard !token.isEmpty, token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw IdPError(.rejected, "the access token is empty or contains characters not allowed in a header")
        }
    }

    private func headers(bearer: String? = nil) -> [KeycloakHTTPHeader] {
        var headers = [KeycloakHTTPHeader("Accept", "application/json")]
        if let bearer { headers.append(KeycloakHTTPHeader("Authorization", "Bearer \(bearer)")) }
        return headers
    }

    private func post(_ url: String, form: [(String, String)], operation: KeycloakOperation) async throws(IdPError)
        -> KeycloakHTTPResponse
    {
        var headers = headers()
        headers.append(KeycloakHTTPHeader("Content-Type", "application/x-www-form-urlencoded"))
        let request = KeycloakHTTPRequest(
            method: .post, url: url, headers: headers, body: KeycloakFormEncoding.encode(form), timeout: requestTimeout
        )
        return try await send(request, operation)
    }

    private func send(_ request: KeycloakHTTPRequest, _ operation: KeycloakOperation) async throws(IdPError)
        -> KeycloakHTTPResponse
    {
        do {
            return try await transport.send(request)
        } catch {
            throw KeycloakResponseClassifier.classify(error, for: operation)
        }
    }

    private func tokens(_ response: KeycloakHTTPResponse, _ operation: KeycloakOperation) throws(IdPError) -> TokenSet {
        switch KeycloakResponseClassifier.classify(response, for: operation) {
        case .tokens(let tokens): return tokens
        case .failure(let error): throw error
        case .sessions, .done: throw unexpected(operation)
        }
    }

    private func expectDone(_ response: KeycloakHTTPResponse, _ operation: KeycloakOperation) throws(IdPError) {
        switch KeycloakResponseClassifier.classify(response, for: operation) {
        case .done: return
        case .failure(let error): throw error
        case .tokens, .sessions: throw unexpected(operation)
        }
    }

    private func unexpected(_ operation: KeycloakOperation) -> IdPError {
        IdPError(.malformedResponse, "unexpected answer to Keycloak \(operation.noun)")
    }
}
