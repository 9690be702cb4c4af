/// `GET/POST {realm}/protocol/openid-connect/userinfo`: a public client's liveness probe (§9).
struct UserInfoEndpoint: Sendable {
    let core: SimulatorCore

    private struct UserInfo: Encodable {
        var sub: String
        var preferredUsername: String
        var emailVerified = false

        enum CodingKeys: String, CodingKey {
            case sub
            case preferredUsername = "preferred_username"
            case emailVerified = "email_verified"
        }
    }

    func handle(_ request: SimRequest) -> EndpointStep {
        // A POST may carry the token as the form parameter `access_token` instead.
        let token = request.bearerToken ?? (request.method == .POST ? request.form?["access_token"] : nil)
        let realm = core.configuration.realm
        switch core.checkBearer(token, requireOpenID: true) {
        case .invalidToken:
            return .respond(
                .bearerChallenge(
                    .unauthorized, realm: realm, error: "invalid_token", description: "Token verification failed"))
        case .insufficientScope:
            return .respond(
                .bearerChallenge(
                    .forbidden, realm: realm, error: "insufficient_scope", description: "Missing openid scope"))
        case .sessionGone:
            return .respond(
                .bearerChallenge(
                    .unauthorized, realm: realm, error: "invalid_token",
                    description: "User session not found or doesn't have client attached on it"))
        case .valid(let claims, let session):
            return .respond(.json(.ok, UserInfo(sub: claims.sub, preferredUsername: session.username)))
        }
    }
}
