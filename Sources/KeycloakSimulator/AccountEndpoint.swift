import Foundation

/// The account REST API's session resource (§9): `GET {realm}/account/sessions`,
/// `DELETE {realm}/account/sessions[?current=true]` and `DELETE {realm}/account/sessions/{id}`.
struct AccountEndpoint: Sendable {
    let core: SimulatorCore

    private struct SessionJSON: Encodable {
        struct Client: Encodable {
            var clientId: String
            var clientName: String
        }

        var id: String
        var ipAddress = "127.0.0.1"
        var started: Int
        var lastAccess: Int
        var expires: Int
        var browser = "Other/Unknown"
        var current: Bool
        var clients: [Client]
    }

    /// `sessionID` is the last path segment of a single-session DELETE.
    func handle(_ request: SimRequest, sessionID: String?) -> EndpointStep {
        let check = core.checkBearer(request.bearerToken)
        guard case .valid(let claims, let current) = check else {
            return .respond(
                .bearerChallenge(
                    .unauthorized, realm: core.configuration.realm, error: "invalid_token",
                    description: "Token verification failed"))
        }
        guard core.configuration.accountRoles else {
            return .respond(
                .bearerChallenge(
                    .forbidden, realm: core.configuration.realm, error: "insufficient_scope",
                    description: "missing the account roles"))
        }
        let now = core.now
        let maximum = core.configuration.ssoSessionMax
        return core.state.withLock { state in
            let sessions = state.store.liveSessions(of: current.username, now: now)
            switch (request.method, sessionID) {
            case (.GET, nil):
                let list = sessions.map { session in
                    SessionJSON(
                        id: session.id, started: Int(session.started), lastAccess: Int(session.lastRefresh),
                        expires: Int(session.started + maximum), current: session.id == claims.sid,
                        clients: session.clientAttached
                            ? [.init(clientId: session.clientID, clientName: session.clientID)] : [])
                }
                return .respond(.json(.ok, list))
            case (.DELETE, nil):
                // Every other session; the caller's own too with `current=true`.
                let removeCurrent = request.query["current"] == "true"
                for session in sessions where removeCurrent || session.id != claims.sid {
                    state.store.remove(id: session.id)
                }
                return .respond(.empty(.noContent))
            case (.DELETE, let id?):
                // Only the user's own sessions; an unknown id is fine (204 all the same).
                if sessions.contains(where: { $0.id == id }) { state.store.remove(id: id) }
                return .respond(.empty(.noContent))
            default:
                return .respond(.methodNotAllowed)
            }
        }
    }
}
