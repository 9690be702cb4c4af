import Foundation

/// What every endpoint shares: the configuration, the signing key, the realm state behind its
/// lock, and the hold gate.
final class SimulatorCore: Sendable {
    let configuration: SimulatorConfiguration
    /// `{baseURL}{basePath}/realms/{realm}`: the `iss` of every token.
    let issuer: String
    /// `{basePath}/realms/{realm}`, the path prefix of every realm endpoint.
    let realmPath: String
    let signer = TokenSigner()
    let state: Locked<RealmState>
    let holds = HoldGate()
    private let clock: @Sendable () -> Double

    init(
        configuration: SimulatorConfiguration, baseURL: String,
        clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) {
        self.configuration = configuration
        realmPath = "\(configuration.basePath)/realms/\(configuration.realm)"
        issuer = baseURL + realmPath
        state = Locked(RealmState(configuration: configuration, issuer: issuer))
        self.clock = clock
    }

    /// Every token issued, when the configuration asks for it.
    let issued = Locked<[String]>([])

    /// The token endpoint's answer for `tokens`, recording them if asked to.
    func tokenResponse(_ tokens: IssuedTokens) -> TokenResponse {
        let response = TokenResponse(tokens, signer: signer)
        if configuration.recordIssuedTokens {
            issued.withLock { $0 += [response.accessToken, response.refreshToken] + (response.idToken.map { [$0] } ?? []) }
        }
        return response
    }

    /// Epoch seconds.
    var now: Double { clock() }

    /// The endpoint URL for a path below the realm, e.g. `protocol/openid-connect/token`.
    func url(_ pathBelowRealm: String) -> String { "\(issuer)/\(pathBelowRealm)" }

    /// The verified claims of a token of one of the given kinds.
    func verify(_ token: String?, as types: TokenType...) -> TokenClaims? {
        guard let token, let claims = signer.verify(token), let type = claims.type, types.contains(type) else {
            return nil
        }
        return claims
    }
}
