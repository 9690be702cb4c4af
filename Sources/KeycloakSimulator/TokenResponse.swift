/// The token endpoint's success body (`AccessTokenResponse`, §3.1).
struct TokenResponse: Encodable {
    var accessToken: String
    var expiresIn: WireSeconds
    var refreshExpiresIn: WireSeconds
    var refreshToken: String
    var tokenType = "Bearer"
    var idToken: String?
    var notBeforePolicy = 0
    var sessionState: String
    var scope: String

    enum CodingKeys: String, CodingKey {
        case scope
        case accessToken = "access_token"
        case expiresIn = "expires_in"
        case refreshExpiresIn = "refresh_expires_in"
        case refreshToken = "refresh_token"
        case tokenType = "token_type"
        case idToken = "id_token"
        case notBeforePolicy = "not-before-policy"
        case sessionState = "session_state"
    }

    init(_ tokens: IssuedTokens, signer: TokenSigner) {
        accessToken = signer.sign(tokens.access)
        expiresIn = WireSeconds(tokens.expiresIn)
        refreshExpiresIn = WireSeconds(tokens.refreshExpiresIn)
        refreshToken = signer.sign(tokens.refresh)
        idToken = tokens.id.map(signer.sign)
        sessionState = tokens.sessionState
        scope = tokens.scope
    }
}

/// A duration on the wire: whole seconds as an integer, as Keycloak writes them, and a
/// sub-second test lifetime to the millisecond (`0.5`), which an integer would round away.
struct WireSeconds: Encodable {
    var value: Double

    init(_ value: Double) {
        self.value = (value * 1000).rounded() / 1000
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if value == value.rounded(), let whole = Int(exactly: value) {
            try container.encode(whole)
        } else {
            try container.encode(value)
        }
    }
}
