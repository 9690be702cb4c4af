import Foundation

/// The ``IdentityProvider`` the lease executor uses: a ``KeycloakClient`` created on first use.
///
/// Constructing it does no I/O and starts no thread, so the CLI can create one on every run and
/// pay for the HTTP client only when a call really goes to the network. On the first call it
/// creates the transport, then uses `cachedEndpoints` if they match the settings, or runs
/// discovery and reports the result through `onDiscovered` (for the caller to cache).
///
/// If a call with cached endpoints gets a 404 (Keycloak moved, e.g. `/auth` dropped by an
/// upgrade), it discovers again and, if the endpoints changed, repeats the call once; a 404
/// cannot have created a session, so the repeat is safe.
///
/// Call ``shutdown()`` before releasing it once it may have made a call.
public final class KeycloakIdentityProvider: IdentityProvider, @unchecked Sendable {
    /// The settings every call uses.
    public let settings: KeycloakSettings
    private let environment: [String: String]
    private let onDiscovered: (@Sendable (KeycloakEndpoints) -> Void)?
    private let transportFactory: @Sendable () throws(IdPError) -> any KeycloakTransport

    private let lock = NSLock()
    // Guarded by `lock`.
    private var transport: (any KeycloakTransport)?
    private var endpoints: KeycloakEndpoints?
    private var endpointsFromCache = false
    private var isShutDown = false

    /// - Parameters:
    ///   - cachedEndpoints: endpoints stored by an earlier run; ignored unless they match the
    ///     settings' host and realm and pass the URL policy.
    ///   - environment: where proxy variables are read (on first use).
    ///   - onDiscovered: called after a discovery, to store the endpoints.
    ///   - makeTransport: replaces the AsyncHTTPClient transport (tests, simulators).
    public init(
        settings: KeycloakSettings, cachedEndpoints: KeycloakEndpoints? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        onDiscovered: (@Sendable (KeycloakEndpoints) -> Void)? = nil,
        makeTransport: (@Sendable () throws(IdPError) -> any KeycloakTransport)? = nil
    ) {
        self.settings = settings
        self.environment = environment
        self.onDiscovered = onDiscovered
        if let makeTransport {
            self.transportFactory = makeTransport
        } else {
            self.transportFactory = { [settings, environment] () throws(IdPError) -> any KeycloakTransport in
                try settings.makeTransport(environment: environment)
            }
        }
        if let cachedEndpoints, settings.accepts(cachedEndpoints) {
            self.endpoints = cachedEndpoints
            self.endpointsFromCache = true
        }
    }

    /// The endpoints in use, discovering them first if needed.
    public func currentEndpoints() async throws(IdPError) -> KeycloakEndpoints {
        try await resolve().client.endpoints
    }

    public func login(username: String, password: Secret) async throws(IdPError) -> TokenSet {
        try await perform { (client) async throws(IdPError) in try await client.login(username: username, password: password) }
    }

    public func refresh(refreshToken: String) async throws(IdPError) -> TokenSet {
        try await perform { (client) async throws(IdPError) in try await client.refresh(refreshToken: refreshToken) }
    }

    public func logout(refreshToken: String) async throws(IdPError) {
        try await perform { (client) async throws(IdPError) in try await client.logout(refreshToken: refreshToken) }
    }

    public func accountSessions(accessToken: String) async throws(IdPError) -> [AccountSession] {
        try await perform { (client) async throws(IdPError) in try await client.accountSessions(accessToken: accessToken) }
    }

    public func deleteAccountSession(id: String, accessToken: String) async throws(IdPError) {
        try await perform { (client) async throws(IdPError) in
            try await client.deleteAccountSession(id: id, accessToken: accessToken)
        }
    }

    /// Shuts the transport down, if one was created. Idempotent; later calls fail with
    /// `.unavailable(outcomeUnknown: false)`.
    public func shutdown() async {
        let transport: (any KeycloakTransport)? = lock.withLock {
            isShutDown = true
            defer { self.transport = nil }
            return self.transport
        }
        await transport?.shutdown()
    }

    // MARK: - Internals

    private func perform<T>(
        _ call: (KeycloakClient) async throws(IdPError) -> T
    ) async throws(IdPError) -> T {
        let (client, fromCache) = try await resolve()
        do {
            return try await call(client)
        } catch where fromCache && error.kind == .configuration && error.status == 404 {
            lock.withLock {
                if endpoints == client.endpoints { endpoints = nil }
            }
            let (fresh, _) = try await resolve()
            guard fresh.endpoints != client.endpoints else { throw error }
            return try await call(fresh)
        }
    }

    private func resolve() async throws(IdPError) -> (client: KeycloakClient, fromCache: Bool) {
        let transport = try currentTransport()
        if let (endpoints, fromCache) = lock.withLock({ endpoints.map { ($0, endpointsFromCache) } }) {
            return (settings.makeClient(endpoints: endpoints, transport: transport), fromCache)
        }
        // Concurrent first calls may each discover; discovery is a few idempotent GETs.
        let discovered = try await settings.discoverEndpoints(transport: transport)
        lock.withLock {
            endpoints = discovered
            endpointsFromCache = false
        }
        onDiscovered?(discovered)
        return (settings.makeClient(endpoints: discovered, transport: transport), false)
    }

    private func currentTransport() throws(IdPError) -> any KeycloakTransport {
        lock.lock()
        defer { lock.unlock() }
        guard !isShutDown else {
            throw IdPError(.unavailable(outcomeUnknown: false), "the Keycloak client was already shut down")
        }
        if let transport { return transport }
        let created = try transportFactory()
        transport = created
        return created
    }
}
