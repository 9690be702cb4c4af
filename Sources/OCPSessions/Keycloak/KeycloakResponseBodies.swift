import Foundation

/// JSON shapes Keycloak answers with. Fields the client relies on are decoded strictly (a wrong
/// type fails the decode); fields only quoted in messages are decoded leniently.
enum KeycloakResponseBodies {
    /// Decodes `T` from untrusted bytes. Never traps: Foundation's decoder rejects invalid UTF-8,
    /// excessive nesting and unrepresentable numbers with an error.
    static func decode<T: Decodable>(_ type: T.Type, from body: [UInt8]) -> T? {
        guard startsLikeJSON(body) else { return nil }
        return try? JSONDecoder().decode(T.self, from: Data(body))
    }

    /// Cheap check before handing bytes to the JSON parser, so HTML error pages are not parsed.
    static func startsLikeJSON(_ body: [UInt8]) -> Bool {
        guard let first = body.first(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0a && $0 != 0x0d }) else {
            return false
        }
        return first == UInt8(ascii: "{") || first == UInt8(ascii: "[")
    }

    /// §3.1 of the behaviour doc (`AccessTokenResponse`).
    struct Token: Decodable {
        var accessToken: String?
        var refreshToken: String?
        var sessionState: String?
        var expiresIn: Double?
        var refreshExpiresIn: Double?
        var scope: String?

        enum CodingKeys: String, CodingKey {
            case accessToken = "access_token"
            case refreshToken = "refresh_token"
            case sessionState = "session_state"
            case expiresIn = "expires_in"
            case refreshExpiresIn = "refresh_expires_in"
            case scope
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            accessToken = try c.decodeIfPresent(String.self, forKey: .accessToken)
            refreshToken = try c.decodeIfPresent(String.self, forKey: .refreshToken)
            sessionState = try c.decodeIfPresent(String.self, forKey: .sessionState)
            expiresIn = try c.decodeIfPresent(Double.self, forKey: .expiresIn)
            refreshExpiresIn = try c.decodeIfPresent(Double.self, forKey: .refreshExpiresIn)
            scope = try? c.decodeIfPresent(String.self, forKey: .scope)
        }
    }

    /// `{"error": ..., "error_description": ...}` (`OAuth2ErrorRepresentation`); non-string
    /// values are ignored rather than failing the decode.
    struct OAuthError: Decodable {
        var error: String?
        var errorDescription: String?

        enum CodingKeys: String, CodingKey {
            case error
            case errorDescription = "error_description"
        }

        init(error: String?, errorDescription: String?) {
            self.error = error
            self.errorDescription = errorDescription
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            error = (try? c.decodeIfPresent(String.self, forKey: .error)) ?? nil
            errorDescription = (try? c.decodeIfPresent(String.self, forKey: .errorDescription)) ?? nil
        }
    }

    /// One element of `GET /account/sessions` (`SessionRepresentation`; times in seconds).
    struct AccountSession: Decodable {
        var id: String
        var started: Double
        var lastAccess: Double
        var clients: [Client]?

        struct Client: Decodable {
            var clientId: String?

            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                clientId = (try? c.decodeIfPresent(String.self, forKey: .clientId)) ?? nil
            }

            enum CodingKeys: String, CodingKey { case clientId }
        }
    }

    /// The fields of `.well-known/openid-configuration` the client uses (§11).
    struct Discovery: Decodable {
        var issuer: String?
        var tokenEndpoint: String?
        var endSessionEndpoint: String?
        var userinfoEndpoint: String?
        var revocationEndpoint: String?

        enum CodingKeys: String, CodingKey {
            case issuer
            case tokenEndpoint = "token_endpoint"
            case endSessionEndpoint = "end_session_endpoint"
            case userinfoEndpoint = "userinfo_endpoint"
            case revocationEndpoint = "revocation_endpoint"
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            issuer = (try? c.decodeIfPresent(String.self, forKey: .issuer)) ?? nil
            tokenEndpoint = (try? c.decodeIfPresent(String.self, forKey: .tokenEndpoint)) ?? nil
            endSessionEndpoint = (try? c.decodeIfPresent(String.self, forKey: .endSessionEndpoint)) ?? nil
            userinfoEndpoint = (try? c.decodeIfPresent(String.self, forKey: .userinfoEndpoint)) ?? nil
            revocationEndpoint = (try? c.decodeIfPresent(String.self, forKey: .revocationEndpoint)) ?? nil
        }
    }

    /// The `sid` claim of a JWT access token, used only when a token response lacks
    /// `session_state` (both name the user session, §9). The signature is not checked: the
    /// value only labels the session, it grants nothing.
    static func sessionIDClaim(ofJWT token: String) -> String? {
        let parts = token.split(separator: ".", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].utf8.count <= 64 * 1024 else { return nil }
        var base64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.utf8.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64) else { return nil }
        struct Claims: Decodable {
            var sid: String?
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                sid = (try? c.decodeIfPresent(String.self, forKey: .sid)) ?? nil
            }
            enum CodingKeys: String, CodingKey { case sid }
        }
        guard let claims = decode(Claims.self, from: [UInt8](data)), let sid = claims.sid, !sid.isEmpty else {
            return nil
        }
        return sid
    }
}
