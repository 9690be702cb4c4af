import Foundation

/// Connects accounts to Keycloak: builds a `KeycloakIdentityProvider` (an HTTP client only on first
/// use) and runs discovery when the registry holds no cached endpoints.
public struct KeycloakConnector: IdentityProviderConnector {
    let environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    public func connect(_ account: AccountConfiguration, cachedEndpoints: String?) async throws(IdPError)
        -> (provider: any IdentityProvider, endpointsToCache: String?)
    {
        let settings = KeycloakSettings(
            host: account.key.host, realm: account.key.realm, clientID: account.clientID,
            clientSecret: account.clientSecret, scope: account.scope, caFile: account.caFile,
            requestTimeout: .milliseconds(Int64(account.requestTimeout * 1000)))
        try settings.validate()
        let cached = cachedEndpoints.flatMap { try? JSONDecoder().decode(KeycloakEndpoints.self, from: Data($0.utf8)) }
        let provider = KeycloakIdentityProvider(settings: settings, cachedEndpoints: cached, environment: environment)
        guard cached == nil || !settings.accepts(cached!) else { return (provider, nil) }
        let endpoints: KeycloakEndpoints
        do {
            endpoints = try await provider.currentEndpoints()
        } catch {
            await provider.shutdown()
            throw error
        }
        let json = (try? JSONEncoder().encode(endpoints)).map { String(decoding: $0, as: UTF8.self) }
        return (provider, json)
    }
}

extension KeycloakIdentityProvider: ClosableIdentityProvider {
    public func close() async { await shutdown() }
}
