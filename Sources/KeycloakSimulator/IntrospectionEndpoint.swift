/// `POST {realm}/protocol/openid-connect/token/introspect` (§9): refused to public clients,
/// answered for confidential ones.
struct IntrospectionEndpoint: Sendable {
    let core: SimulatorCore

    private struct Introspection: Encodable {
        var active: Bool
        var claims: TokenClaims?
        var username: String?

        enum CodingKeys: String, CodingKey {
            case active, username
            case clientID = "client_id"
            case tokenType = "token_type"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(active, forKey: .active)
            guard let claims else { return }
            try claims.encode(to: encoder)
            try container.encodeIfPresent(username, forKey: .username)
            try container.encode(claims.azp, forKey: .clientID)
            try container.encode(claims.typ, forKey: .tokenType)
        }
    }

    func handle(_ request: SimRequest) -> EndpointStep {
        guard let form = request.form else { return .respond(.unsupportedMediaType) }
        switch ClientAuthentication(configuration: core.configuration).authenticate(request, form: form) {
        case .failure:
            return .respond(.oauthError(.unauthorized, "invalid_request", "Authentication failed."))
        case .success(let client) where client.isPublic:
            return .respond(.oauthError(.forbidden, "invalid_request", "Client not allowed."))
        case .success:
            break
        }
        guard let token = form["token"] else {
            return .respond(.oauthError(.badRequest, "invalid_request", "Token not provided"))
        }
        let claims = core.signer.verify(token)
        let now = core.now
        let session: UserSession? = core.state.withLock { state in
            guard let claims, claims.type != .id,
                now < state.expiry(of: claims), !state.revokedAccessTokens.contains(claims.jti)
            else { return nil }
            return state.attachedSession(id: claims.sid, now: now)
        }
        guard let claims, let session else { return .respond(.json(.ok, Introspection(active: false))) }
        return .respond(.json(.ok, Introspection(active: true, claims: claims, username: session.username)))
    }
}
