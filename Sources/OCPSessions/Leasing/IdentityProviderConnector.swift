/// Builds the identity provider for an account when, and only when, a network call is needed: the
/// warm path (a cached token) never constructs an HTTP client.
public protocol IdentityProviderConnector: Sendable {
    /// `cachedEndpoints` is the discovery result stored in the registry, if any. Returns the
    /// provider and, when discovery ran, the endpoints (JSON) to store for next time.
    func connect(_ account: AccountConfiguration, cachedEndpoints: String?) async throws(IdPError)
        -> (provider: any IdentityProvider, endpointsToCache: String?)
}
