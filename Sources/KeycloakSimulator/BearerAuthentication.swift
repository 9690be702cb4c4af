/// What an `Authorization: Bearer` access token is worth at this moment.
enum BearerCheck: Sendable {
    case valid(TokenClaims, UserSession)
    /// Missing, malformed, not an access token, expired or revoked.
    case invalidToken
    /// Valid, but without the `openid` scope that userinfo requires.
    case insufficientScope
    /// Valid, but its session is gone, expired or detached from the client.
    case sessionGone
}

extension SimulatorCore {
    /// Checks a bearer token and, under the same lock, lets `record` count the result.
    func checkBearer(
        _ token: String?, requireOpenID: Bool = false,
        record: (inout SimulatorStatistics, BearerCheck) -> Void = { _, _ in }
    ) -> BearerCheck {
        let claims = verify(token, as: .access)
        let now = self.now
        return state.withLock { state in
            let check: BearerCheck
            if let claims, state.isActiveAccessToken(claims, now: now) {
                if requireOpenID && !claims.hasOpenIDScope {
                    check = .insufficientScope
                } else if let session = state.attachedSession(id: claims.sid, now: now) {
                    check = .valid(claims, session)
                } else {
                    check = .sessionGone
                }
            } else {
                check = .invalidToken
            }
            record(&state.statistics, check)
            return check
        }
    }
}
