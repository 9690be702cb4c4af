/// `POST {realm}/protocol/openid-connect/revoke` (RFC 7009, §6), with the behaviour after
/// PR #35696: revoking a refresh token ends that one session; revoking an access token makes
/// that token unusable and leaves the session alone.
struct RevocationEndpoint: Sendable {
    let core: SimulatorCore

    private static let invalidToken = SimResponse.json(
        .ok, OAuthError(error: "invalid_token", errorDescription: "Invalid token"))

    func handle(_ request: SimRequest) -> EndpointStep {
        guard let form = request.form else { return .respond(.unsupportedMediaType) }
        let clientID: String
        switch ClientAuthentication(configuration: core.configuration).authenticate(request, form: form) {
        case .failure(let failure): return .respond(failure.response)
        case .success(let client): clientID = client.id
        }
        guard let token = form["token"] else {
            return .respond(.oauthError(.badRequest, "invalid_request", "Token not provided"))
        }
        // `token_type_hint` is ignored: the token's own `typ` decides.
        guard let claims = core.signer.verify(token) else { return .respond(Self.invalidToken) }
        guard claims.type == .access || claims.type == .refresh || claims.type == .offline else {
            return .respond(.oauthError(.badRequest, "unsupported_token_type", "Unsupported token type"))
        }
        guard claims.azp == clientID else {
            return .respond(.oauthError(.badRequest, "invalid_request", "Unmatching clients"))
        }
        let now = core.now
        let revoked = core.state.withLock { $0.revoke(claims, now: now) }
        return .respond(revoked ? .empty(.ok) : Self.invalidToken)
    }
}
