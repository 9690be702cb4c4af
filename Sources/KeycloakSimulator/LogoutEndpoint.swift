/// `{realm}/protocol/openid-connect/logout` (§5). A form POST with a refresh token logs the whole
/// user session out and answers 204 whether the session was live, already gone, its token
/// expired or its client session detached.
struct LogoutEndpoint: Sendable {
    let core: SimulatorCore

    func handle(_ request: SimRequest) -> EndpointStep {
        guard request.method == .POST else { return .respond(Self.browserLogoutPage) }
        guard let form = request.form else { return .respond(.unsupportedMediaType, operation: .logout) }
        // Without a refresh token but with RP-initiated parameters it is a browser logout.
        if form["refresh_token"] == nil && (form["id_token_hint"] != nil || form["post_logout_redirect_uri"] != nil) {
            return .respond(Self.browserLogoutPage)
        }
        return .respond(logout(request, form: form), operation: .logout)
    }

    private func logout(_ request: SimRequest, form: FormBody) -> SimResponse {
        let clientID: String
        switch ClientAuthentication(configuration: core.configuration).authenticate(request, form: form) {
        case .failure(let failure): return failure.response
        case .success(let client): clientID = client.id
        }
        guard let token = form["refresh_token"] else {
            return .oauthError(.badRequest, "invalid_request", "No refresh token")
        }
        // Logout does not check expiry or reuse: only that the token is ours and the client's.
        guard let claims = core.verify(token, as: .refresh, .offline) else {
            return .oauthError(.badRequest, "invalid_grant", "Invalid refresh token")
        }
        guard claims.azp == clientID else {
            return .oauthError(
                .badRequest, "invalid_grant", "Invalid refresh token. Token client and authorized client don't match")
        }
        core.state.withLock { $0.logout(claims) }
        return .empty(.noContent)
    }

    private static let browserLogoutPage = SimResponse.html(
        .ok, title: "Logging out", message: "Do you want to log out?")
}
