import NIOHTTP1

/// `POST {realm}/protocol/openid-connect/token`: the password and refresh-token grants
/// (§3, §4), checked in Keycloak's order: duplicated parameter, grant type, client, then the
/// grant's own checks.
struct TokenEndpoint: Sendable {
    let core: SimulatorCore

    /// Every scope the realm knows (the discovery document lists them).
    static let knownScopes: [String] = [
        "openid", "profile", "email", "offline_access", "address", "phone", "roles", "web-origins", "acr", "basic",
        "microprofile-jwt",
    ]
    /// Optional scopes that show in the granted scope string when requested; `profile` and
    /// `email` are default scopes and always do.
    private static let optionalScopesInToken: Set<String> = ["offline_access", "address", "phone", "microprofile-jwt"]

    func handle(_ request: SimRequest) -> EndpointStep {
        switch process(request) {
        case .done(var outcome):
            outcome.response = outcome.response.noStore
            return .done(outcome)
        case .after(let seconds, let then):
            return .after(seconds: seconds) {
                var outcome = then()
                outcome.response = outcome.response.noStore
                return outcome
            }
        }
    }

    private func process(_ request: SimRequest) -> EndpointStep {
        guard let form = request.form else { return .respond(.unsupportedMediaType) }
        if form.hasDuplicatedParameter {
            return .respond(.oauthError(.badRequest, "invalid_request", "duplicated parameter"))
        }
        guard let grantType = form["grant_type"] else {
            return .respond(.oauthError(.badRequest, "invalid_request", "Missing form parameter: grant_type"))
        }
        guard grantType == "password" || grantType == "refresh_token" else {
            return .respond(.oauthError(.badRequest, "unsupported_grant_type", "Unsupported grant_type"))
        }
        let client = ClientAuthentication(configuration: core.configuration).authenticate(request, form: form)
        if grantType == "password" {
            return passwordGrant(request, form: form, client: client)
        }
        return .done(refreshGrant(form: form, client: client))
    }

    // MARK: Password grant

    private func passwordGrant(
        _ request: SimRequest, form: FormBody, client: Result<ClientAuthentication.Client, ClientAuthentication.Failure>
    ) -> EndpointStep {
        let clientID: String
        switch client {
        case .failure(let failure): return .respond(failure.response, operation: .login)
        case .success(let authenticated): clientID = authenticated.id
        }
        let requestedScope = form["scope"] ?? ""
        let scopes = requestedScope.split(separator: " ").map(String.init)
        if scopes.contains(where: { !Self.knownScopes.contains($0) }) {
            return .respond(
                .oauthError(.badRequest, "invalid_scope", "Invalid scopes: \(requestedScope)"), operation: .login)
        }
        guard let username = form["username"] else {
            return .respond(
                .oauthError(.unauthorized, "invalid_request", "Missing parameter: username"), operation: .login)
        }
        let password = form["password"] ?? ""
        let grantedScope = Self.grantedScope(requested: scopes)
        let core = self.core
        return .after(seconds: core.configuration.loginCost) {
            let result = core.state.withLock { state in
                state.passwordGrant(
                    username: username, password: password, clientID: clientID, scope: grantedScope, now: core.now)
            }
            let response: SimResponse
            switch result {
            case .issued(let tokens):
                response = .json(.ok, core.tokenResponse(tokens))
            case .invalidCredentials:
                response = .oauthError(
                    HTTPResponseStatus(statusCode: core.configuration.invalidGrantStatus), "invalid_grant",
                    "Invalid user credentials")
            case .limitDenied:
                response = Self.denial(core.configuration.denialFormat, request: request)
            }
            return EndpointOutcome(response, operation: .login)
        }
    }

    /// `openid` if asked for, the default scopes, then the optional ones asked for.
    static func grantedScope(requested: [String]) -> String {
        var granted = requested.contains("openid") ? ["openid"] : []
        granted += ["profile", "email"]
        for scope in requested where optionalScopesInToken.contains(scope) && !granted.contains(scope) {
            granted.append(scope)
        }
        return granted.joined(separator: " ")
    }

    /// The limiter's "Deny new session" answer in each version's format (§7.3).
    static func denial(_ format: DenialFormat, request: SimRequest) -> SimResponse {
        let message = "There are too many sessions"
        switch format {
        case .keycloak23:
            guard request.acceptsJSON else {
                return .html(.forbidden, title: "Sign in", message: message)
            }
            return .oauthError(.forbidden, message)
        case .keycloak18:
            return .oauthError(.unauthorized, "generic_authentication_error", "sessionLimitExceeded")
        case .keycloak17:
            return .unknownError(acceptsHTML: request.acceptsHTML)
        }
    }

    // MARK: Refresh grant

    private func refreshGrant(
        form: FormBody, client: Result<ClientAuthentication.Client, ClientAuthentication.Failure>
    ) -> EndpointOutcome {
        let clientID: String
        switch client {
        case .failure(let failure):
            return failedRefresh(failure.response, counted: "Invalid client or Invalid client credentials")
        case .success(let authenticated): clientID = authenticated.id
        }
        guard let token = form["refresh_token"] else {
            return failedRefresh("invalid_request", "No refresh token")
        }
        guard let claims = core.verify(token, as: .refresh, .offline) else {
            return failedRefresh("invalid_grant", "Invalid refresh token")
        }
        guard claims.iss == core.issuer else {
            return failedRefresh(
                "invalid_grant", "Invalid token issuer. Expected '\(core.issuer)', but was '\(claims.iss)'")
        }
        let requestedScope = form["scope"].map { $0.split(separator: " ").map(String.init) }
        let core = self.core
        let result = core.state.withLock { state in
            state.refreshArrived(sessionID: claims.sid)
            return state.refreshGrant(claims, clientID: clientID, requestedScope: requestedScope, now: core.now)
        }
        let response: SimResponse =
            switch result {
            case .issued(let tokens): .json(.ok, core.tokenResponse(tokens))
            case .failed(let error, let description): .oauthError(.badRequest, error, description)
            }
        return EndpointOutcome(response, operation: .refresh) {
            core.state.withLock { $0.refreshAnswered(sessionID: claims.sid) }
        }
    }

    /// A refresh that failed before reaching the realm state, counted all the same.
    private func failedRefresh(_ error: String, _ description: String) -> EndpointOutcome {
        failedRefresh(.oauthError(.badRequest, error, description), counted: description)
    }

    private func failedRefresh(_ response: SimResponse, counted description: String) -> EndpointOutcome {
        core.state.withLock { $0.statistics.refreshErrors[description, default: 0] += 1 }
        return EndpointOutcome(response, operation: .refresh)
    }
}

extension SimResponse {
    /// The token endpoint's cache headers, on every answer (§2).
    var noStore: SimResponse {
        adding("Cache-Control", "no-store").adding("Pragma", "no-cache")
    }
}
