/// The realm's metadata: `GET {realm}/.well-known/openid-configuration` (§11), the JWKS at
/// `{realm}/protocol/openid-connect/certs` and the realm document at `{realm}`.
struct DiscoveryEndpoint: Sendable {
    let core: SimulatorCore

    private struct Document: Encodable {
        var issuer: String
        var authorizationEndpoint: String
        var tokenEndpoint: String
        var introspectionEndpoint: String
        var userinfoEndpoint: String
        var endSessionEndpoint: String
        var revocationEndpoint: String
        var jwksUri: String
        var grantTypesSupported = ["authorization_code", "implicit", "refresh_token", "password", "client_credentials"]
        var responseTypesSupported = ["code", "none", "id_token", "token", "id_token token", "code id_token"]
        var subjectTypesSupported = ["public", "pairwise"]
        var idTokenSigningAlgValuesSupported = ["HS256"]
        var scopesSupported = TokenEndpoint.knownScopes
        var tokenEndpointAuthMethodsSupported = ["client_secret_basic", "client_secret_post"]
        var revocationEndpointAuthMethodsSupported = ["client_secret_basic", "client_secret_post"]
        var codeChallengeMethodsSupported = ["plain", "S256"]
        var backchannelLogoutSupported = true
        var backchannelLogoutSessionSupported = true
        var frontchannelLogoutSupported = true
    }

    private struct RealmDocument: Encodable {
        var realm: String
        var tokenService: String
        var accountService: String
        var tokensNotBefore = 0

        enum CodingKeys: String, CodingKey {
            case realm
            case tokenService = "token-service"
            case accountService = "account-service"
            case tokensNotBefore = "tokens-not-before"
        }
    }

    private struct KeySet: Encodable {
        /// Tokens are HMAC-signed; like Keycloak's realm HMAC key, that key is never published.
        var keys: [String] = []
    }

    func discovery() -> EndpointStep {
        let oidc = "protocol/openid-connect"
        let document = Document(
            issuer: core.issuer, authorizationEndpoint: core.url("\(oidc)/auth"),
            tokenEndpoint: core.url("\(oidc)/token"), introspectionEndpoint: core.url("\(oidc)/token/introspect"),
            userinfoEndpoint: core.url("\(oidc)/userinfo"), endSessionEndpoint: core.url("\(oidc)/logout"),
            revocationEndpoint: core.url("\(oidc)/revoke"), jwksUri: core.url("\(oidc)/certs"))
        return .respond(.json(.ok, document, keys: .convertToSnakeCase))
    }

    func realm() -> EndpointStep {
        .respond(
            .json(
                .ok,
                RealmDocument(
                    realm: core.configuration.realm, tokenService: core.url("protocol/openid-connect"),
                    accountService: core.url("account"))))
    }

    func keys() -> EndpointStep {
        .respond(.json(.ok, KeySet()))
    }
}
