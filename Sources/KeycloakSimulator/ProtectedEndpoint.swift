/// `GET {realm}/sim/protected`: a stand-in for the services scripts call with their access token.
/// Every refusal is a ``SimulatorStatistics/deadTokenRequests``: a client handed out a token that
/// was no longer good.
struct ProtectedEndpoint: Sendable {
    let core: SimulatorCore

    private struct Body: Encodable {
        var ok = true
        var session: String
    }

    func handle(_ request: SimRequest) -> EndpointStep {
        let check = core.checkBearer(request.bearerToken) { statistics, check in
            if case .valid = check {
                statistics.protectedRequests += 1
            } else {
                statistics.deadTokenRequests += 1
            }
        }
        let realm = core.configuration.realm
        switch check {
        case .valid(_, let session):
            return .respond(.json(.ok, Body(session: session.id)))
        case .sessionGone:
            return .respond(
                .bearerChallenge(.unauthorized, realm: realm, error: "invalid_token", description: "Session not active")
            )
        case .invalidToken, .insufficientScope:
            return .respond(
                .bearerChallenge(
                    .unauthorized, realm: realm, error: "invalid_token", description: "Token verification failed"))
        }
    }
}
