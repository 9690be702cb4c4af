/// The `typ` claim, which tells the token kinds apart (§9).
enum TokenType: String, Sendable {
    case access = "Bearer"
    case refresh = "Refresh"
    /// A refresh token of an offline session (`scope=offline_access`).
    case offline = "Offline"
    case id = "ID"
}

/// The claims of every token the simulator issues. Keycloak's names, and `nil` fields left out of
/// the JSON as Keycloak does.
///
/// `iat` and `exp` are whole seconds as in Keycloak; the exact (fractional) instants are kept in
/// the server's ``TokenRecord`` so sub-second lifetimes still expire on time. Offline refresh
/// tokens have no `exp`: only their session's idle timeout ends them (§8).
struct TokenClaims: Codable, Sendable, Equatable {
    var exp: Int?
    var iat: Int
    var jti: String
    var iss: String
    var aud: String?
    var sub: String
    var typ: String
    var azp: String
    var sid: String
    var sessionState: String?
    var scope: String
    var preferredUsername: String?

    enum CodingKeys: String, CodingKey {
        case exp, iat, jti, iss, aud, sub, typ, azp, sid, scope
        case sessionState = "session_state"
        case preferredUsername = "preferred_username"
    }

    var type: TokenType? { TokenType(rawValue: typ) }

    /// Whether the scope string contains `openid`, which makes a request an OIDC one.
    var hasOpenIDScope: Bool { scope.split(separator: " ").contains("openid") }
}
